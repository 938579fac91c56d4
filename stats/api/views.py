"""Statistics API: the same selectors and filters as the pages.

Times: ``start``/``end`` are ISO 8601 date-times (``2026-11-22T00:00:00+08:00``); without an
offset they are read in the system time zone, and a bare date is that day's midnight there.
Giving ``start`` and ``end`` makes the period ``custom``. A bad value answers 400 naming it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.authentication import ApiKeyAuthentication, HasScope
from hub.visibility import LEADERBOARD_REFUSAL, may_see_leaderboard, sees_everything
from sessions_app import selectors as sessions
from stats import selectors
from stats.api.serializers import AVAILABILITY, BUCKET, ERROR, FILTERS, LEADER, OVERVIEW, PERIOD, SERIES, TOKENS
from stats.availability import DEFAULT_WINDOW, WINDOWS, AvailabilityError, provider_availability, provider_for
from stats.forms import StatsFilterForm
from stats.periods import BUCKETS, PeriodForm, StatsError, check_bucket


class StatsView(APIView):
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, HasScope]
    required_scope = "read"

    def window(self, default: str) -> tuple[datetime, datetime]:
        """The period grammar the pages use (``stats.periods``): a bad value is a 400 naming it."""
        form = self.period_form(default)
        if not form.is_valid():
            raise ValidationError({name: list(messages) for name, messages in form.errors.items()})
        return form.cleaned_data["start"], form.cleaned_data["end"]

    def period_form(self, default: str) -> PeriodForm:
        if getattr(self, "_period_form", None) is None:
            self._period_form = PeriodForm(self.request.query_params, default=default)
        return self._period_form

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
        bucket = self.choice("bucket", BUCKETS, default)
        try:
            check_bucket(start, end, bucket)
        except StatsError as error:
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


class OverviewView(StatsView):
    @extend_schema(operation_id="stats_overview", tags=["statistics"], responses={200: OVERVIEW},
                   summary="Today's requests, cost, tokens and sessions active in the last 5 minutes",
                   description="Own figures for a user, everyone's for an admin (with active users).")  # fmt: skip
    def get(self, request):
        data = selectors.overview(viewer=request.user)
        active, data["active_session_count"] = sessions.active_sessions(viewer=request.user)
        data["active_sessions"] = [
            {"id": s.pk, "session_id": s.session_id, "user": s.user.username, "requests": s.requests,
             "tokens": s.total_tokens, "cost": s.cost, "last_request_at": s.last_request_at}
            for s in active
        ]  # fmt: skip
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
                                                          "results": serializers.ListField(child=LEADER)}),
                   400: ERROR},
    )  # fmt: skip
    def get(self, request):
        if not may_see_leaderboard(request.user):
            raise PermissionDenied(LEADERBOARD_REFUSAL)
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


class AvailabilityView(StatsView):
    @extend_schema(
        operation_id="providers_availability", tags=["providers"],
        summary="Each provider's availability, response time and TTFT percentiles, failures and series",
        description="Admins only (403 otherwise). From per-minute buckets up to the last whole minute; "
                    "buckets of 1 minute (15m, 1h), 5 minutes (6h), 15 minutes (24h) or 1 hour (7d).",
        parameters=[OpenApiParameter("window", str, enum=list(WINDOWS), description="default: 1h"),
                    OpenApiParameter("provider", int, description="a provider id")],
        responses={200: AVAILABILITY, 400: ERROR},
    )  # fmt: skip
    def get(self, request):
        if not sees_everything(request.user):
            raise PermissionDenied("Provider availability is for admins.")
        window = self.choice("window", WINDOWS, DEFAULT_WINDOW)
        try:
            provider_id = provider_for(request.query_params.get("provider"))
        except AvailabilityError as error:
            raise ValidationError({error.field: [error.reason]}) from None
        data = provider_availability(viewer=request.user, window=window, provider_id=provider_id)
        data = {key: value for key, value in data.items() if key != "buckets"}
        return Response(data)
