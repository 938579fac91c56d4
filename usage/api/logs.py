"""Read API over the request log: the same FilterSet, visibility, keyset pages and counts as /logs/."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView, ListAPIView, RetrieveAPIView
from rest_framework.pagination import BasePagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from hub.authentication import ApiKeyAuthentication, HasScope
from hub.openapi import PARAMETER_ERRORS
from hub.params import cursor_link
from usage import export, presentation
from usage.filters import MessageRequestFilterSet
from usage.models import MessageRequest
from usage.selectors import DEFAULT_PAGE_SIZE, PAGE_SIZES, log_listing, log_page, page_size, request_log


class SecondsDateTimeField(serializers.DateTimeField):
    """A time to the second, like the pages and the CSV export show it."""

    def to_representation(self, value):
        return super().to_representation(presentation.to_the_second(value))


class PlainBreakdownField(serializers.JSONField):
    """The stored cost breakdown with its amounts as plain decimals (never 5.000E-7)."""

    def to_representation(self, value):
        return super().to_representation(presentation.plain_breakdown(value))


# Fields whose representation of a value of their own type is the value itself.
_AS_IS = {serializers.IntegerField: int, serializers.CharField: str, serializers.BooleanField: bool}


class MessageRequestSerializer(serializers.ModelSerializer):
    """A request row as the API answers it. Lists run to a thousand rows (a session's requests),
    so ``to_representation`` copies the values that need no conversion directly and leaves the
    rest (times, decimals, JSON) to their fields: the same output at a fraction of DRF's cost
    (a 500-request session spent 180 ms here)."""

    created_at = SecondsDateTimeField()
    user = serializers.CharField(source="user.username")
    key = serializers.CharField(source="key.name", allow_null=True, default=None, read_only=True)
    provider = serializers.CharField(source="provider.name", allow_null=True, default=None, read_only=True)
    total_tokens = serializers.IntegerField()

    class Meta:
        model = MessageRequest
        fields = (
            "id", "request_id", "created_at", "session_id", "user_id", "user", "key_id", "key", "provider_id",
            "provider", "model", "original_model", "endpoint", "status_code", "is_stream", "incomplete", "input_tokens",
            "output_tokens", "cache_creation_tokens", "cache_creation_5m_tokens", "cache_creation_1h_tokens",
            "cache_read_tokens", "reasoning_tokens", "total_tokens", "cost", "price_missing", "cost_multiplier",
            "duration_ms", "ttft_ms", "error_message", "blocked_by", "blocked_reason",
        )  # fmt: skip
        # Output only, and every field is in every answer: the document says each is required.
        read_only_fields = fields

    def _plan(self) -> list[tuple]:
        plan = self.__dict__.get("_fast_plan")
        if plan is None:
            plan = self._fast_plan = [
                (field.field_name, field.source_attrs, _AS_IS.get(type(field)), field)
                for field in self._readable_fields
            ]
        return plan

    def to_representation(self, instance):
        answer = {}
        for name, attrs, kind, field in self._plan():
            value = instance
            for attr in attrs:
                value = getattr(value, attr, None) if value is not None else None
            if value is None:
                answer[name] = None
            elif kind is not None and type(value) is kind:
                answer[name] = value
            else:
                answer[name] = field.to_representation(value)
        return answer


class MessageRequestDetailSerializer(MessageRequestSerializer):
    cost_breakdown = PlainBreakdownField(allow_null=True)

    class Meta(MessageRequestSerializer.Meta):
        fields = (
            *MessageRequestSerializer.Meta.fields,
            "cost_breakdown", "provider_chain", "user_agent", "messages_count", "attributes",
        )  # fmt: skip
        read_only_fields = fields


class LogFilterBackend(DjangoFilterBackend):
    """The page's FilterSet: a refused value answers 400 naming its parameter (never a widened
    or dropped filter), and the bound FilterSet stays on the view for the count."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        view.filterset = filterset
        return filterset.qs


class LogCursorPagination(BasePagination):
    """Keyset pages on (created_at, id), newest first, the very ones /logs/ shows: ``after``
    goes older, ``before`` newer, and page 1,000 costs what page 1 does. ``count`` is exact
    from the rollups or up to 100,000 rows, else the planner's estimate (``count_exact``), with
    the most there can be beside it (``count_at_most``)."""

    def paginate_queryset(self, queryset, request, view=None):
        try:
            size = page_size(request.query_params.get("size"))
        except ValueError:
            raise ValidationError(
                {"size": [_("One of %(sizes)s.") % {"sizes": ", ".join(map(str, PAGE_SIZES))}]}
            ) from None
        after, before = request.query_params.get("after", ""), request.query_params.get("before", "")
        # The page's listing, not the bare queryset: the same count and the same narrowing.
        listing = log_listing(view.filterset)
        try:
            self.page = log_page(listing.rows, after=after, before=before, size=size)
        except ValueError:
            raise ValidationError({"before" if before else "after": [_("Not a cursor this API gave out.")]}) from None
        self.count, self.exact, self.at_most = listing.count, listing.exact, listing.at_most
        self.request = request
        return self.page.rows

    def get_paginated_response(self, data) -> Response:
        return Response(
            {
                "count": self.count,
                "count_exact": self.exact,
                "count_at_most": self.at_most,
                "next": cursor_link(self.request, "after", self.page.next_cursor),
                "previous": cursor_link(self.request, "before", self.page.previous_cursor),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["count", "count_exact", "count_at_most", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer"},
                "count_exact": {"type": "boolean", "description": "false: `count` is the planner's estimate"},
                "count_at_most": {
                    "type": "integer",
                    "nullable": True,
                    "description": "With an estimate: the most rows there can be, from the hourly rollups "
                    "(the filters they do not keep, such as a single status code or a session, widened "
                    "or left out); null when the count is exact or no bound is known",
                },
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {"name": "after", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "Cursor from `next`: the rows older than it."},
            {"name": "before", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "Cursor from `previous`: the rows newer than it."},
            {"name": "size", "in": "query", "required": False,
             "schema": {"type": "integer", "enum": list(PAGE_SIZES), "default": DEFAULT_PAGE_SIZE}},
        ]  # fmt: skip


class ReadMixin:
    """Session or API key with the ``read`` scope; rows through the one visibility policy."""

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, HasScope]
    required_scope = "read"

    def get_queryset(self):
        return request_log(viewer=self.request.user)


@extend_schema_view(
    get=extend_schema(
        operation_id="requests_list",
        tags=["logs"],
        summary="Request log, newest first",
        description=(
            "The last 7 days unless `range`, `start` or `end` says otherwise (`start`/`end` replace the "
            "range's bounds; times without an offset are in the system time zone). A user naming another "
            "user's key or user gets 400 naming the parameter. Pages by cursor: follow `next` to go older, "
            "`previous` to go newer."
        ),
        responses={200: MessageRequestSerializer(many=True), 400: PARAMETER_ERRORS},
    )
)
class RequestListView(ReadMixin, ListAPIView):
    serializer_class = MessageRequestSerializer
    filter_backends = [LogFilterBackend]
    filterset_class = MessageRequestFilterSet
    pagination_class = LogCursorPagination


@extend_schema_view(
    get=extend_schema(
        operation_id="requests_detail",
        tags=["logs"],
        summary="One request, with everything stored",
        description="Another user's request answers 404, the same as a missing one.",
    )
)
class RequestDetailView(ReadMixin, RetrieveAPIView):
    serializer_class = MessageRequestDetailSerializer
    filter_backends: list = []  # found by id alone; another user's answers 404 like a missing one


class RequestExportView(ReadMixin, GenericAPIView):
    filter_backends = [LogFilterBackend]
    filterset_class = MessageRequestFilterSet
    pagination_class = None

    @extend_schema(
        operation_id="requests_export",
        tags=["logs"],
        summary="The filtered request log as CSV",
        description="Streamed, UTF-8 with BOM, newest first, formula-like text quoted, a totals line last.",
        responses={(200, "text/csv"): OpenApiTypes.STR, (400, "application/json"): PARAMETER_ERRORS},
        filters=True,  # the list's filters, though the answer is not a JSON list
    )
    def get(self, request) -> StreamingHttpResponse:
        rows = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(export.log_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export.export_filename("requests")}"'
        return response
