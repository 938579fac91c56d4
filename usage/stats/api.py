"""Statistics API: the same selectors and filters as the pages.

Times: ``start``/``end`` are ISO 8601 date-times (``2026-11-22T00:00:00+08:00``); without an
offset they are read in the system time zone, and a bare date is that day's midnight there.
Giving ``start`` and ``end`` makes the period ``custom``. A bad value answers 400 naming it.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.authentication import ApiKeyAuthentication, HasScope
from hub.models import SystemSettings
from hub.visibility import sees_everything
from usage.stats import selectors
from usage.stats.forms import StatsFilterForm

PERIOD = [
    OpenApiParameter("period", str, enum=list(selectors.PERIODS), description="default: today (month for tokens)"),
    OpenApiParameter("start", OpenApiTypes.DATETIME, description="with end: a custom period (system time zone)"),
    OpenApiParameter("end", OpenApiTypes.DATETIME, description="exclusive"),
]
FILTERS = [
    OpenApiParameter("user", int, description="a user id (admins; a user may name only themself)"),
    OpenApiParameter("key", int, description="an API key id the caller may see"),
    OpenApiParameter("provider", int, description="a provider id"),
    OpenApiParameter("model", str, description="the model as asked for (original model)"),
]
BUCKET = OpenApiParameter("bucket", str, enum=list(selectors.BUCKETS))
ERROR = inline_serializer("StatsError", {"parameter": serializers.ListField(child=serializers.CharField())})
MONEY = {"allow_null": True, "max_digits": 28, "decimal_places": 10}

LEADER = inline_serializer(
    "LeaderboardEntry",
    {
        "rank": serializers.IntegerField(),
        "id": serializers.IntegerField(allow_null=True, help_text="user or provider id; null for models"),
        "name": serializers.CharField(),
        "requests": serializers.IntegerField(),
        "errors": serializers.IntegerField(),
        "cost": serializers.DecimalField(**MONEY, help_text="null: no priced request (no data), never 0"),
        "tokens": serializers.IntegerField(),
        "success_rate": serializers.FloatField(allow_null=True),
        "cache_hit_rate": serializers.FloatField(allow_null=True),
        "avg_duration_ms": serializers.FloatField(allow_null=True),
        "avg_ttft_ms": serializers.FloatField(allow_null=True),
        "output_tokens_per_second": serializers.FloatField(allow_null=True),
        "cost_per_million_tokens": serializers.DecimalField(**MONEY),
        "ran_as": serializers.ListField(child=serializers.DictField(), required=False),
    },
)
TOKEN_KINDS = {
    name: serializers.IntegerField()
    for name in ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "reasoning_tokens")
}
TOKENS = inline_serializer(
    "TokenStatistics",
    {
        "start": serializers.DateTimeField(),
        "end": serializers.DateTimeField(),
        "bucket": serializers.CharField(),
        "summary": inline_serializer(
            "TokenSummary",
            {
                "requests": serializers.IntegerField(),
                **TOKEN_KINDS,
                "total_tokens": serializers.IntegerField(allow_null=True),
                "cache_hit_ratio": serializers.FloatField(allow_null=True),
                "zero_token_successes": serializers.IntegerField(),
            },
        ),
        "per_model": serializers.ListField(
            child=inline_serializer(
                "TokensPerModel",
                {
                    "model": serializers.CharField(),
                    "requests": serializers.IntegerField(),
                    **TOKEN_KINDS,
                    "total_tokens": serializers.IntegerField(),
                    "cache_hit_ratio": serializers.FloatField(allow_null=True),
                },
            )  # fmt: skip
        ),
        "series": serializers.ListField(
            child=inline_serializer("TokenBucket", {"bucket": serializers.DateTimeField(), **TOKEN_KINDS})
        ),
    },
)
SERIES = inline_serializer(
    "Timeseries",
    {
        "start": serializers.DateTimeField(),
        "end": serializers.DateTimeField(),
        "bucket": serializers.CharField(),
        "by": serializers.CharField(allow_null=True),
        "results": serializers.ListField(
            child=inline_serializer(
                "TimeseriesPoint",
                {
                    "bucket": serializers.DateTimeField(),
                    "key": serializers.CharField(allow_null=True),
                    "requests": serializers.IntegerField(),
                    "errors": serializers.IntegerField(),
                    "cost": serializers.DecimalField(**MONEY),
                    "tokens": serializers.IntegerField(),
                },
            )  # fmt: skip
        ),
    },
)
OVERVIEW = inline_serializer(
    "Overview",
    {
        "start": serializers.DateTimeField(),
        "end": serializers.DateTimeField(),
        "requests": serializers.IntegerField(),
        "errors": serializers.IntegerField(),
        "cost": serializers.DecimalField(**MONEY),
        "tokens": serializers.IntegerField(allow_null=True),
        "active_users": serializers.IntegerField(allow_null=True, help_text="admins only"),
        "active_session_count": serializers.IntegerField(),
        "active_sessions": serializers.ListField(child=serializers.DictField()),
    },
)


class StatsView(APIView):
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, HasScope]
    required_scope = "read"

    def moment(self, name: str) -> datetime | None:
        raw = self.request.query_params.get(name, "").strip()
        if not raw:
            return None
        zone = SystemSettings.get().zone
        value = parse_datetime(raw.replace(" ", "+")) or None  # a "+08:00" that a URL turned into a space
        if value is None and (day := _date(raw)) is not None:
            value = datetime.combine(day, time.min)
        if value is None:
            raise ValidationError({name: ["an ISO 8601 date-time, e.g. 2026-11-22T00:00:00+08:00, or a date"]})
        return value if timezone.is_aware(value) else value.replace(tzinfo=zone)

    def window(self, default: str) -> tuple[datetime, datetime]:
        start, end = self.moment("start"), self.moment("end")
        period = self.request.query_params.get("period") or ("custom" if start or end else default)
        try:
            return selectors.period_window(period, start=start, end=end)
        except selectors.StatsError as error:
            raise ValidationError({error.field: [error.reason]}) from None

    def choice(self, name: str, choices, default):
        value = self.request.query_params.get(name) or default
        if value not in choices:
            raise ValidationError({name: [f"one of {', '.join(str(c) for c in choices if c)}"]})
        return value

    def filters(self) -> dict:
        form = StatsFilterForm(self.request.query_params, viewer=self.request.user)
        if not form.is_valid():
            raise ValidationError({name: list(messages) for name, messages in form.errors.items()})
        return form.filters()

    def bucket(self, start: datetime, end: datetime, default: str) -> str:
        bucket = self.choice("bucket", selectors.BUCKETS, default)
        try:
            selectors.check_bucket(start, end, bucket)
        except selectors.StatsError as error:
            raise ValidationError({error.field: [error.reason]}) from None
        return bucket


def exact(data):
    """Money as strings: DRF would turn a Decimal into a float and lose the exactness."""
    if isinstance(data, Decimal):
        return str(data)
    if isinstance(data, dict):
        return {key: exact(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [exact(value) for value in data]
    return data


def _date(raw: str):
    try:
        return parse_date(raw)
    except ValueError:
        return None


class OverviewView(StatsView):
    @extend_schema(operation_id="stats_overview", tags=["statistics"], responses={200: OVERVIEW},
                   summary="Today's requests, cost, tokens and sessions active in the last 5 minutes",
                   description="Own figures for a user, everyone's for an admin (with active users).")  # fmt: skip
    def get(self, request):
        data = selectors.overview(viewer=request.user)
        data["active_session_count"] = selectors.active_session_count(viewer=request.user)
        data["active_sessions"] = selectors.active_sessions(viewer=request.user)
        return Response(exact(data))


class LeaderboardView(StatsView):
    @extend_schema(
        operation_id="stats_leaderboard", tags=["statistics"],
        summary="Users, providers or models (as asked for) ranked by cost",
        description="Admins only, unless System settings let users see everyone's usage (403 otherwise).",
        parameters=[*PERIOD, OpenApiParameter("by", str, enum=list(selectors.LEADERBOARDS))],
        responses={200: inline_serializer("Leaderboard", {"start": serializers.DateTimeField(),
                                                          "end": serializers.DateTimeField(),
                                                          "by": serializers.CharField(),
                                                          "results": LEADER}),
                   400: ERROR},
    )  # fmt: skip
    def get(self, request):
        if not (sees_everything(request.user) or SystemSettings.get().allow_global_usage_view):
            raise PermissionDenied("The leaderboard is for admins unless System settings open it to everyone.")
        start, end = self.window("today")
        by = self.choice("by", selectors.LEADERBOARDS, "user")
        board = selectors.leaderboard(viewer=request.user, start=start, end=end, by=by)
        for entry in board:
            entry.pop("value", None)
            entry.pop("cost_share", None)
        return Response(exact({"start": start, "end": end, "by": by, "results": board}))


class TokensView(StatsView):
    @extend_schema(operation_id="stats_tokens", tags=["statistics"], summary="Token statistics",
                   description="Token kinds, cache hit ratio, per-model breakdown, a series by hour or day and "
                               "the count of successful requests that reported zero tokens.",
                   parameters=[*PERIOD, BUCKET, *FILTERS], responses={200: TOKENS, 400: ERROR})  # fmt: skip
    def get(self, request):
        start, end = self.window("month")
        bucket = self.bucket(start, end, "day")
        data = selectors.token_statistics(
            viewer=request.user, start=start, end=end, bucket=bucket, filters=self.filters()
        )
        for row in data["per_model"]:
            row.pop("original_model", None)
        return Response(exact({"start": start, "end": end, "bucket": bucket, **data}))


class TimeseriesView(StatsView):
    @extend_schema(operation_id="stats_timeseries", tags=["statistics"],
                   summary="Requests, errors, cost and tokens per hour or day, optionally by model or provider",
                   parameters=[*PERIOD, BUCKET, OpenApiParameter("by", str, enum=["model", "provider"]), *FILTERS],
                   responses={200: SERIES, 400: ERROR})  # fmt: skip
    def get(self, request):
        start, end = self.window("today")
        bucket = self.bucket(start, end, "hour")
        by = self.choice("by", (None, "model", "provider"), None)
        rows = selectors.timeseries(
            viewer=request.user, start=start, end=end, bucket=bucket, by=by, filters=self.filters()
        )
        return Response(exact({"start": start, "end": end, "bucket": bucket, "by": by, "results": rows}))
