"""Read API over sessions: the same FilterSet, visibility, cache and keyset pages as /sessions/."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.authentication import ApiKeyAuthentication, HasScope
from hub.openapi import PARAMETER_ERRORS
from hub.params import cursor_link
from sessions_app import selectors
from sessions_app.api.serializers import SessionDetailSerializer, SessionSerializer
from sessions_app.filters import SessionFilterSet
from usage.selectors import PAGE_SIZES, page_size

SIZE = selectors.PAGE_SIZE


class SessionsReadView(APIView):
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, HasScope]
    required_scope = "read"


LIST_ANSWER = {
    "type": "object",
    "required": ["active_count", "next", "previous", "results"],
    "properties": {
        "active_count": {
            "type": "integer",
            "description": "sessions of this view with a request in the last 5 minutes",
        },
        "next": {"type": "string", "format": "uri", "nullable": True},
        "previous": {"type": "string", "format": "uri", "nullable": True},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Session"}},
    },
}


class SessionListView(SessionsReadView):
    @extend_schema(
        operation_id="sessions_list", tags=["sessions"], summary="Sessions, latest activity first",
        description="Active sessions (a request in the last 5 minutes) come first by that order. A user sees "
                    "only their own; naming another user or their key answers 400. Pages by cursor.",
        filters=False,
        parameters=[
            OpenApiParameter("active", bool),
            *(OpenApiParameter(name, str, description=SessionFilterSet.base_filters[name].extra["help_text"])
              for name in ("user", "key")),  # an id or a name, as the filter takes them
            OpenApiParameter("provider", int), OpenApiParameter("model", str),
            OpenApiParameter("start", str, description="ISO 8601: sessions active at or after it"),
            OpenApiParameter("end", str, description="ISO 8601: sessions that began before it"),
            OpenApiParameter("after", str), OpenApiParameter("before", str),
            OpenApiParameter("size", int, enum=list(PAGE_SIZES)),
        ],
        responses={200: LIST_ANSWER, 400: PARAMETER_ERRORS},
    )  # fmt: skip
    def get(self, request):
        params = request.query_params
        try:
            size = page_size(params.get("size"))
        except ValueError:
            raise ValidationError(
                {"size": [_("One of %(sizes)s.") % {"sizes": ", ".join(map(str, PAGE_SIZES))}]}
            ) from None
        filterset = SessionFilterSet(params or None, request=request,
                                     queryset=selectors.session_list(viewer=request.user))  # fmt: skip
        if filterset.is_bound and not filterset.is_valid():
            raise ValidationError(filterset.errors)
        try:
            listing = selectors.session_listing(filterset, viewer=request.user, after=params.get("after", ""),
                                                before=params.get("before", ""), size=size)  # fmt: skip
        except ValueError:
            refused = "before" if params.get("before") else "after"
            raise ValidationError({refused: [_("Not a cursor this API gave out.")]}) from None
        context = {"active_since": selectors.active_boundary(listing.now)}

        return Response({
            "active_count": listing.active_count,
            "next": cursor_link(request, "after", listing.page.next_cursor),
            "previous": cursor_link(request, "before", listing.page.previous_cursor),
            "results": SessionSerializer(listing.page.rows, many=True, context=context).data,
        })  # fmt: skip


class SessionDetailView(SessionsReadView):
    @extend_schema(
        operation_id="sessions_detail", tags=["sessions"], summary="One session: totals, providers, requests, "
        "and the conversation when it was stored",
        description="Another user's session answers 404, the same as a missing one.",
        responses={200: SessionDetailSerializer},
    )  # fmt: skip
    def get(self, request, pk: int):
        session = get_object_or_404(selectors.session_list(viewer=request.user), pk=pk)
        detail = selectors.session_detail(session, whole_rows=True)
        data = {
            "session": session,
            "providers": [
                {"provider_id": next(iter(m["provider_id"] for m in p["models"]), None), "name": p["name"],
                 "requests": p["requests"], "errors": p["errors"], "models": [m["model"] for m in p["models"]]}
                for p in detail.providers
            ],
            "requests": detail.requests,
            "more_requests": detail.more_requests,
            "messages_stored": detail.messages_stored,
            "messages_expire_at": detail.messages_expire_at,
            "conversation": [
                {"request_id": turn["request"].pk, "created_at": turn["request"].created_at,
                 **{name: turn[name] for name in ("question", "answer", "tool_calls", "reasoning")}}
                for turn in detail.turns
            ],
        }  # fmt: skip
        context = {"active_since": selectors.active_boundary()}
        return Response(SessionDetailSerializer(data, context=context).data)
