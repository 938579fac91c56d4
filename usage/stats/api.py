"""Statistics API: the same selectors as the pages."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.authentication import ApiKeyAuthentication, HasScope
from hub.models import SystemSettings
from hub.visibility import sees_everything
from usage.stats import selectors

PERIOD = [
    OpenApiParameter("period", str, enum=list(selectors.PERIODS)),
    OpenApiParameter("start", OpenApiTypes.DATETIME),
    OpenApiParameter("end", OpenApiTypes.DATETIME),
]


class StatsView(APIView):
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, HasScope]
    required_scope = "read"

    def moment(self, name: str):
        raw = self.request.query_params.get(name)
        if not raw:
            return None
        value = parse_datetime(raw)
        if value is None or value.tzinfo is None:
            raise ValidationError({name: ["an ISO-8601 date-time with a zone, e.g. 2026-11-22T00:00:00+08:00"]})
        return value

    def window(self, default: str):
        period = self.request.query_params.get("period", default)
        try:
            return selectors.period_window(period, start=self.moment("start"), end=self.moment("end"))
        except selectors.StatsError as error:
            raise ValidationError({error.field: [error.reason]}) from None

    def choice(self, name: str, choices, default):
        value = self.request.query_params.get(name, default)
        if value not in choices:
            raise ValidationError({name: [f"one of {', '.join(choices)}"]})
        return value


class OverviewView(StatsView):
    @extend_schema(operation_id="stats_overview", tags=["statistics"], responses=OpenApiTypes.OBJECT,
                   summary="Today's requests, cost, tokens (and active users, for admins)")  # fmt: skip
    def get(self, request):
        data = selectors.overview(viewer=request.user)
        data["active_sessions"] = selectors.active_sessions(viewer=request.user)
        return Response(data)


class LeaderboardView(StatsView):
    @extend_schema(operation_id="stats_leaderboard", tags=["statistics"], responses=OpenApiTypes.OBJECT,
                   parameters=[*PERIOD, OpenApiParameter("by", str, enum=list(selectors.LEADERBOARDS))])  # fmt: skip
    def get(self, request):
        if not (sees_everything(request.user) or SystemSettings.get().allow_global_usage_view):
            raise PermissionDenied("The leaderboard is for admins unless System settings open it to everyone.")
        start, end = self.window("today")
        by = self.choice("by", selectors.LEADERBOARDS, "user")
        board = selectors.leaderboard(viewer=request.user, start=start, end=end, by=by)
        return Response({"start": start, "end": end, "by": by, "results": board})


FILTERS = ("user", "key", "provider", "model")


class TokensView(StatsView):
    @extend_schema(operation_id="stats_tokens", tags=["statistics"], responses=OpenApiTypes.OBJECT,
                   parameters=[*PERIOD, OpenApiParameter("bucket", str, enum=list(selectors.BUCKETS)),
                               *(OpenApiParameter(name, str) for name in FILTERS)])  # fmt: skip
    def get(self, request):
        start, end = self.window("month")
        bucket = self.choice("bucket", selectors.BUCKETS, "day")
        filters = {}
        for name, field in (("user", "user_id"), ("key", "key_id"), ("provider", "provider_id")):
            value = request.query_params.get(name)
            if value:
                if not value.isdigit():
                    raise ValidationError({name: ["an id"]})
                filters[field] = int(value)
        if request.query_params.get("model"):
            filters["original_model"] = request.query_params["model"]
        if "user_id" in filters and not sees_everything(request.user) and filters["user_id"] != request.user.pk:
            raise ValidationError({"user": ["not a user whose usage you may see"]})
        data = selectors.token_statistics(viewer=request.user, start=start, end=end, bucket=bucket, filters=filters)
        return Response({"start": start, "end": end, "bucket": bucket, **data})


class TimeseriesView(StatsView):
    @extend_schema(operation_id="stats_timeseries", tags=["statistics"], responses=OpenApiTypes.OBJECT,
                   parameters=[*PERIOD, OpenApiParameter("bucket", str, enum=list(selectors.BUCKETS)),
                               OpenApiParameter("by", str, enum=["model", "provider"])])  # fmt: skip
    def get(self, request):
        start, end = self.window("today")
        bucket = self.choice("bucket", selectors.BUCKETS, "hour")
        by = request.query_params.get("by") or None
        try:
            rows = selectors.timeseries(viewer=request.user, start=start, end=end, bucket=bucket, by=by)
        except selectors.StatsError as error:
            raise ValidationError({error.field: [error.reason]}) from None
        return Response({"start": start, "end": end, "bucket": bucket, "results": rows})
