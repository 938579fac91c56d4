"""Read API over the request log: the same FilterSet, visibility and keyset pages as /logs/."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.authentication import ApiKeyAuthentication, HasScope
from usage import export
from usage.filters import MessageRequestFilterSet
from usage.models import MessageRequest
from usage.selectors import DEFAULT_PAGE_SIZE, PAGE_SIZES, bounded_count, log_filterset, log_page, request_log


class MessageRequestSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    key = serializers.CharField(source="key.name", allow_null=True, default=None)
    provider = serializers.CharField(source="provider.name", allow_null=True, default=None)
    total_tokens = serializers.IntegerField()

    class Meta:
        model = MessageRequest
        fields = (
            "id", "request_id", "created_at", "session_id", "user_id", "user", "key_id", "key", "provider_id",
            "provider", "model", "original_model", "endpoint", "status_code", "is_stream", "input_tokens",
            "output_tokens", "cache_creation_tokens", "cache_creation_5m_tokens", "cache_creation_1h_tokens",
            "cache_read_tokens", "reasoning_tokens", "total_tokens", "cost", "price_missing", "cost_multiplier",
            "duration_ms", "ttft_ms", "error_message", "blocked_by", "blocked_reason",
        )  # fmt: skip


class MessageRequestDetailSerializer(MessageRequestSerializer):
    class Meta(MessageRequestSerializer.Meta):
        fields = (
            *MessageRequestSerializer.Meta.fields,
            "cost_breakdown", "provider_chain", "user_agent", "messages_count", "attributes",
        )  # fmt: skip


class ReadView(APIView):
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, HasScope]
    required_scope = "read"

    def filtered(self, request):
        filterset = log_filterset(viewer=request.user, data=request.query_params, request=request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)  # 400 naming each refused parameter
        return filterset.qs


FILTER_PARAMETERS = [
    OpenApiParameter(name, str, description=str(field.label))
    for name, field in MessageRequestFilterSet.base_filters.items()
]


class RequestListView(ReadView):
    @extend_schema(
        operation_id="requests_list",
        tags=["logs"],
        summary="Request log, newest first",
        description=(
            "The last 7 days unless a range or start/end is given. Pages by cursor: pass the `next` "
            "link's `after` to go older, `previous`'s `before` to go newer; page 1,000 costs what page 1 "
            "does. `count` is exact up to 100,000, estimated above (`count_exact: false`)."
        ),
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("after", str),
            OpenApiParameter("before", str),
            OpenApiParameter("size", int, enum=list(PAGE_SIZES)),
        ],
        responses=inline_serializer(
            "RequestPage",
            {
                "count": serializers.IntegerField(),
                "count_exact": serializers.BooleanField(),
                "next": serializers.CharField(allow_null=True),
                "previous": serializers.CharField(allow_null=True),
                "results": MessageRequestSerializer(many=True),
            },
        ),
    )
    def get(self, request):
        rows = self.filtered(request)
        size = request.query_params.get("size", str(DEFAULT_PAGE_SIZE))
        if not size.isdigit() or int(size) not in PAGE_SIZES:
            raise ValidationError({"size": [f"one of {', '.join(map(str, PAGE_SIZES))}"]})
        try:
            page = log_page(
                rows, after=request.query_params.get("after", ""), before=request.query_params.get("before", ""),
                size=int(size),
            )  # fmt: skip
        except ValueError:
            raise ValidationError({"after": ["not a cursor this API gave out"]}) from None
        count, exact = bounded_count(rows)
        query = request.query_params.copy()
        for name in ("after", "before"):
            query.pop(name, None)

        def link(name: str, cursor: str | None) -> str | None:
            if cursor is None:
                return None
            query[name] = cursor
            url = request.build_absolute_uri(request.path) + "?" + query.urlencode()
            query.pop(name)
            return url

        return Response(
            {
                "count": count,
                "count_exact": exact,
                "next": link("after", page.next_cursor),
                "previous": link("before", page.previous_cursor),
                "results": MessageRequestSerializer(page.rows, many=True).data,
            }
        )


class RequestDetailView(ReadView):
    @extend_schema(operation_id="requests_detail", tags=["logs"], responses=MessageRequestDetailSerializer)
    def get(self, request, pk: int):
        row = get_object_or_404(request_log(viewer=request.user), pk=pk)  # another user's: 404 like a missing one
        return Response(MessageRequestDetailSerializer(row).data)


class RequestExportView(ReadView):
    @extend_schema(
        operation_id="requests_export",
        tags=["logs"],
        summary="The filtered request log as CSV (streamed, UTF-8 with BOM, totals line last)",
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        response = StreamingHttpResponse(export.log_csv(self.filtered(request)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export.export_filename("requests")}"'
        return response
