"""Dashboard, leaderboard and token statistics: read queries over the exact rollups.

Every figure comes from ``usage.rollups.totals`` (rollups for whole hours, raw rows for
the rest), so it equals the same query on raw rows. The same functions serve pages and API.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Sum
from django.utils import timezone

from hub.models import SystemSettings, User
from hub.visibility import sees_everything
from providers.models import Provider
from usage import partitions, rollups
from usage.filters import range_bounds
from usage.models import MessageRequest

PERIODS = ("today", "week", "month", "all", "custom")
BUCKETS = ("hour", "day")
LEADERBOARDS = ("user", "provider", "model")
ACTIVE_SESSION_WINDOW = timedelta(minutes=5)
_RANGE_OF = {"today": "today", "week": "this_week", "month": "this_month"}


class StatsError(ValueError):
    """A bad parameter: ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def period_window(period: str, *, start: datetime | None = None, end: datetime | None = None):
    """[start, end) of a leaderboard period in the system time zone."""
    if period in _RANGE_OF:
        return range_bounds(_RANGE_OF[period])
    if period == "all":
        months = partitions.existing_partitions()
        first = min(months) if months else timezone.now().date()
        start = datetime(first.year, first.month, 1, tzinfo=SystemSettings.get().zone)
        return start, timezone.now() + timedelta(hours=1)
    if period == "custom":
        if start is None or end is None:
            raise StatsError("start", "a custom period needs start and end")
        if start >= end:
            raise StatsError("end", "must be after start")
        return start, end
    raise StatsError("period", f"one of {', '.join(PERIODS)}")


def tokens_total(row: dict) -> int:
    return row["input_tokens"] + row["output_tokens"] + row["cache_creation_tokens"] + row["cache_read_tokens"]


def _ratio(part, whole) -> float | None:
    return None if not whole else part / whole


def _summary(row: dict | None) -> dict:
    if not row or not row["requests"]:
        return {"requests": 0, "cost": None, "tokens": None, "errors": 0}
    return {
        "requests": row["requests"],
        "errors": row["errors"],
        "cost": row["cost"],
        "tokens": tokens_total(row),
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "cache_creation_tokens": row["cache_creation_tokens"],
        "cache_read_tokens": row["cache_read_tokens"],
        "reasoning_tokens": row["reasoning_tokens"],
    }


def overview(*, viewer, now: datetime | None = None) -> dict:
    """Today's cards (system time zone), own figures for users, everyone's for admins."""
    start, end = range_bounds("today", now=now)
    rows = rollups.totals(viewer=viewer, start=start, end=end, group_by=("user_id",), zone=SystemSettings.get().zone)
    merged: dict | None = None
    for row in rows:
        if merged is None:
            merged = dict(row)
            continue
        for name in rollups.SUM_FIELDS:
            if row[name] is None:
                continue
            merged[name] = row[name] if merged[name] is None else merged[name] + row[name]
    return {
        **_summary(merged),
        "active_users": sum(1 for row in rows if row["requests"]) if sees_everything(viewer) else None,
        "start": start,
        "end": end,
    }


def active_sessions(*, viewer, now: datetime | None = None, limit: int = 50) -> list[dict]:
    """Sessions with a request in the last five minutes: a small window of raw rows."""
    since = (now or timezone.now()) - ACTIVE_SESSION_WINDOW
    rows = (
        MessageRequest.objects.visible_to(viewer)
        .live()
        .filter(created_at__gte=since)
        .exclude(session_id="")
        .values("session_id", "user__username", "user_id")
        .annotate(
            requests=Count("id"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            cost=Sum("cost"),
            model=Max("model"),
            last=Max("created_at"),
        )
        .order_by("-last")
    )
    return list(rows[:limit])


def timeseries(*, viewer, start: datetime, end: datetime, bucket: str, by: str | None = None) -> list[dict]:
    if bucket not in BUCKETS:
        raise StatsError("bucket", f"one of {', '.join(BUCKETS)}")
    group = {"model": ("original_model",), "provider": ("provider_id",), None: ()}.get(by)
    if group is None:
        raise StatsError("by", "one of model, provider")
    rows = rollups.totals(
        viewer=viewer, start=start, end=end, group_by=group, bucket=bucket, zone=SystemSettings.get().zone
    )
    names = _provider_names() if by == "provider" else {}

    def key(row: dict) -> str | None:
        if by == "provider":
            return names.get(row["provider_id"], "—")
        return (row["original_model"] or "—") if by == "model" else None

    return [
        {
            "bucket": row["bucket"],
            "key": key(row),
            "requests": row["requests"],
            "cost": row["cost"],
            "tokens": tokens_total(row),
        }
        for row in rows
    ]


def _provider_names() -> dict:
    return dict(Provider.objects.values_list("pk", "name"))


def breakdown_cells(*, viewer, start: datetime, end: datetime, bucket: str) -> list[dict]:
    """Requests, cost and tokens per bucket, provider and model (as asked for): one pass over
    the rollups serves the charts by model and by provider alike."""
    if bucket not in BUCKETS:
        raise StatsError("bucket", f"one of {', '.join(BUCKETS)}")
    rows = rollups.totals(
        viewer=viewer, start=start, end=end, group_by=("provider_id", "original_model"), bucket=bucket,
        zone=SystemSettings.get().zone,
    )  # fmt: skip
    names = _provider_names()
    return [
        {
            "bucket": row["bucket"],
            "provider_id": row["provider_id"],
            "provider": names.get(row["provider_id"], "—"),
            "model": row["original_model"] or "—",
            "requests": row["requests"],
            "cost": row["cost"],
            "tokens": tokens_total(row),
        }
        for row in rows
    ]


def leaderboard(*, viewer, start: datetime, end: datetime, by: str) -> list[dict]:
    if by not in LEADERBOARDS:
        raise StatsError("by", f"one of {', '.join(LEADERBOARDS)}")
    everyone = not sees_everything(viewer) and SystemSettings.get().allow_global_usage_view
    group = {"user": "user_id", "provider": "provider_id", "model": "original_model"}[by]
    rows = rollups.totals(
        viewer=viewer, start=start, end=end, group_by=(group,), zone=SystemSettings.get().zone, everyone=everyone
    )
    names = (
        {user.pk: str(user) for user in User.objects.filter(pk__in=[row[group] for row in rows])}
        if by == "user"
        else _provider_names()
        if by == "provider"
        else {}
    )
    board = []
    for row in rows:
        total = tokens_total(row)
        prompt = row["input_tokens"] + row["cache_read_tokens"] + row["cache_creation_tokens"]
        entry = {
            "id": row[group] if by != "model" else None,
            "name": names.get(row[group], "—") if by != "model" else (row[group] or "—"),
            "requests": row["requests"],
            "cost": row["cost"],
            "tokens": total,
            "success_rate": _ratio(row["requests"] - row["errors"], row["requests"]),
            "cache_hit_rate": _ratio(row["cache_read_tokens"], prompt),
            "avg_duration_ms": _ratio(row["duration_sum"], row["duration_count"]),
            "avg_ttft_ms": _ratio(row["ttft_sum"], row["ttft_count"]),
            "output_tokens_per_second": _ratio(row["output_tokens"], row["duration_sum"] / 1000)
            if row["duration_sum"]
            else None,
            "cost_per_million_tokens": (row["cost"] / total * 1_000_000) if row["cost"] is not None and total else None,
        }
        board.append(entry)
    board.sort(key=lambda e: (e["cost"] is None, -(e["cost"] or Decimal(0)), -e["requests"]))
    for rank, entry in enumerate(board, start=1):
        entry["rank"] = rank
    return board


def _fold(rows: list[dict], key: str) -> list[dict]:
    """Sum rows that share ``key``."""
    folded: dict = {}
    for row in rows:
        target = folded.setdefault(row[key], {key: row[key], **dict.fromkeys(rollups.SUM_FIELDS, 0)})
        for name in rollups.SUM_FIELDS:
            if row[name] is not None:
                target[name] += row[name]
    return list(folded.values())


def token_statistics(*, viewer, start: datetime, end: datetime, bucket: str, filters: dict | None = None) -> dict:
    if bucket not in BUCKETS:
        raise StatsError("bucket", f"one of {', '.join(BUCKETS)}")
    zone = SystemSettings.get().zone
    # One pass over the rollups, grouped by model and bucket, gives both views.
    cells = rollups.totals(
        viewer=viewer, start=start, end=end, group_by=("original_model",), bucket=bucket, filters=filters, zone=zone
    )
    per_model = _fold(cells, "original_model")
    series = sorted(_fold(cells, "bucket"), key=lambda row: row["bucket"])
    summary = {name: sum(row[name] for row in per_model) for name in (
        "requests", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "reasoning_tokens",
        "zero_token_successes",
    )}  # fmt: skip
    summary["total_tokens"] = tokens_total(summary) if summary["requests"] else None
    prompt = summary["input_tokens"] + summary["cache_read_tokens"] + summary["cache_creation_tokens"]
    summary["cache_hit_ratio"] = _ratio(summary["cache_read_tokens"], prompt)
    return {
        "summary": summary,
        "per_model": sorted(
            (
                {
                    "model": row["original_model"] or "—",
                    **{
                        k: row[k]
                        for k in (
                            "requests",
                            "input_tokens",
                            "output_tokens",
                            "cache_creation_tokens",
                            "cache_read_tokens",
                            "reasoning_tokens",
                        )
                    },
                    "total_tokens": tokens_total(row),
                }
                for row in per_model
            ),
            key=lambda r: -r["total_tokens"],
        ),  # fmt: skip
        "series": [
            {
                "bucket": row["bucket"],
                **{
                    k: row[k]
                    for k in (
                        "input_tokens",
                        "output_tokens",
                        "cache_creation_tokens",
                        "cache_read_tokens",
                        "reasoning_tokens",
                    )
                },
            }
            for row in series
        ],  # fmt: skip
    }
