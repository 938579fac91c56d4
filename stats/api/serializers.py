"""The statistics API's parameters and answers, as the OpenAPI document shows them."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

from hub.openapi import PARAMETER_ERRORS
from stats.periods import BUCKETS, PERIODS

PERIOD = [
    OpenApiParameter("period", str, enum=list(PERIODS), description="default: today (month for tokens)"),
    OpenApiParameter("start", OpenApiTypes.DATETIME, description="with end: a custom period (system time zone)"),
    OpenApiParameter("end", OpenApiTypes.DATETIME, description="exclusive"),
]
FILTERS = [
    OpenApiParameter("user", int, description="a user id (admins; a user may name only themself)"),
    OpenApiParameter("key", int, description="an API key id the caller may see"),
    OpenApiParameter("provider", int, description="a provider id"),
    OpenApiParameter("model", str, description="the model as asked for (original model)"),
]
BUCKET = OpenApiParameter("bucket", str, enum=list(BUCKETS))
#: a 400: each refused parameter with its reasons, e.g. {"start": ["Give an ISO 8601 date-time, ..."]}
ERROR = PARAMETER_ERRORS
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

_LATENCY = {
    **{name: serializers.FloatField(allow_null=True) for name in ("avg", "p50", "p95", "p99")},
    "count": serializers.IntegerField(help_text="requests with a time recorded"),
}
AVAILABILITY = inline_serializer(
    "ProviderAvailability",
    {
        "window": serializers.CharField(),
        "start": serializers.DateTimeField(),
        "end": serializers.DateTimeField(help_text="exclusive: the last whole minute"),
        "bucket_minutes": serializers.IntegerField(),
        "relative_error": serializers.FloatField(help_text="percentiles are within this share of the exact value"),
        "few_requests": serializers.IntegerField(help_text="below this many requests, low_confidence is true"),
        "providers": serializers.ListField(
            child=inline_serializer(
                "ProviderHealth",
                {
                    "id": serializers.IntegerField(),
                    "name": serializers.CharField(),
                    "enabled": serializers.BooleanField(),
                    "status": serializers.ChoiceField(
                        choices=["up", "down", "unknown"],
                        help_text="last 15 minutes: up at 50% availability or more, unknown without requests",
                    ),
                    "status_requests": serializers.IntegerField(),
                    "status_availability": serializers.FloatField(allow_null=True),
                    "requests": serializers.IntegerField(),
                    "successes": serializers.IntegerField(help_text="2xx and 3xx"),
                    "failures": serializers.IntegerField(help_text="4xx, 5xx and no response"),
                    "availability": serializers.FloatField(allow_null=True),
                    "low_confidence": serializers.BooleanField(),
                    "duration_ms": inline_serializer(
                        "LatencyFigures", {**_LATENCY, "count": serializers.IntegerField()}
                    ),
                    "ttft_ms": inline_serializer("TtftFigures", _LATENCY),
                    "errors": serializers.ListField(
                        child=inline_serializer(
                            "ProviderFailures",
                            {
                                "status": serializers.IntegerField(allow_null=True),
                                "kind": serializers.CharField(allow_null=True, help_text="when no status came back"),
                                "label": serializers.CharField(),
                                "requests": serializers.IntegerField(),
                            },
                        )
                    ),
                    "series": serializers.ListField(
                        child=inline_serializer(
                            "ProviderHealthBucket",
                            {
                                "start": serializers.DateTimeField(),
                                "requests": serializers.IntegerField(),
                                "successes": serializers.IntegerField(),
                                "availability": serializers.FloatField(allow_null=True),
                                "duration_avg": serializers.FloatField(allow_null=True),
                                "duration_p95": serializers.FloatField(allow_null=True),
                                "ttft_avg": serializers.FloatField(allow_null=True),
                            },
                        )
                    ),
                },
            )
        ),
    },
)
