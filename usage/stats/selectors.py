"""Dashboard, leaderboard and token statistics: read queries over the exact rollups.

Every figure comes from ``usage.rollups.totals`` (rollups for whole hours, raw rows for
the rest), so it equals the same query on raw rows. The same functions serve pages and API.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

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
NO_PROVIDER = gettext_lazy("(no provider)")
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


MAX_BUCKETS = 1_000
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
# The sums a chart or series needs: fewer sums make the rollup scan faster.
CHART_FIELDS = ("requests", "errors", "cost", *TOKEN_FIELDS)
TOKEN_STAT_FIELDS = ("requests", *TOKEN_FIELDS, "reasoning_tokens", "zero_token_successes")


def check_bucket(start: datetime, end: datetime, bucket: str) -> None:
    """A bucket is hour or day, and a series has at most MAX_BUCKETS of them."""
    if bucket not in BUCKETS:
        raise StatsError("bucket", f"one of {', '.join(BUCKETS)}")
    count = (end - start) / (timedelta(hours=1) if bucket == "hour" else timedelta(days=1))
    if count > MAX_BUCKETS:
        raise StatsError("bucket", f"{count:,.0f} {bucket}s is more than {MAX_BUCKETS:,}: use days or a shorter period")


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


def active_session_count(*, viewer, now: datetime | None = None) -> int:
    """How many sessions had a request in the last five minutes (the list shows the latest few)."""
    since = (now or timezone.now()) - ACTIVE_SESSION_WINDOW
    recent = MessageRequest.objects.visible_to(viewer).live().filter(created_at__gte=since).exclude(session_id="")
    return recent.values("session_id").distinct().count()


def timeseries(
    *, viewer, start: datetime, end: datetime, bucket: str, by: str | None = None, filters: dict | None = None
) -> list[dict]:
    """Requests, errors, cost and tokens per bucket, overall or per model (as asked for) or provider."""
    check_bucket(start, end, bucket)
    group = {"model": ("original_model",), "provider": ("provider_id",), None: ()}.get(by)
    if group is None:
        raise StatsError("by", "one of model, provider")
    rows = rollups.totals(
        viewer=viewer, start=start, end=end, group_by=group, bucket=bucket, filters=filters,
        zone=SystemSettings.get().zone, fields=CHART_FIELDS,
    )  # fmt: skip
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
            "errors": row["errors"],
            "cost": row["cost"],
            "tokens": tokens_total(row),
        }
        for row in sorted(rows, key=lambda r: (r["bucket"], str(key(r))))
    ]


def _provider_names() -> dict:
    return dict(Provider.objects.values_list("pk", "name"))


def breakdown_cells(
    *, viewer, start: datetime, end: datetime, bucket: str, filters: dict | None = None, everyone: bool = False
) -> list[dict]:
    """Requests, errors, cost and tokens per bucket, provider and model (as asked for): one pass
    over the rollups serves the charts by model and by provider alike."""
    check_bucket(start, end, bucket)
    rows = rollups.totals(
        viewer=viewer, start=start, end=end, group_by=("provider_id", "original_model"), bucket=bucket,
        filters=filters, zone=SystemSettings.get().zone, everyone=everyone, fields=CHART_FIELDS,
    )  # fmt: skip
    names = _provider_names()
    return [
        {
            "bucket": row["bucket"],
            "provider_id": row["provider_id"],
            "provider": names.get(row["provider_id"]) or str(NO_PROVIDER),
            "model": row["original_model"] or "—",
            "requests": row["requests"],
            "errors": row["errors"],
            "cost": row["cost"],
            "tokens": tokens_total(row),
        }
        for row in rows
    ]


def dashboard_windows(now: datetime) -> dict[str, datetime]:
    """Where the dashboard's charts start: 24 whole hours and 30 local days up to ``now``."""
    zone = SystemSettings.get().zone
    return {
        "hours": rollups.floor_hour(now) - timedelta(hours=23),
        "days": datetime.combine((now.astimezone(zone) - timedelta(days=29)).date(), time.min, zone),
    }


def warm_dashboard(now: datetime | None = None) -> bool:
    """Read the admins' 30-day chart once, so that its closed days wait in the cache: the first
    view after a restart, a backfill or a recomputed day is then as quick as the others.
    Only days not cached yet are summed. False when there is no admin to see it."""
    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("pk").first()
    if admin is None:
        return False
    now = now or timezone.now()
    breakdown_cells(viewer=admin, start=dashboard_windows(now)["days"], end=now, bucket="day")
    return True


def user_cells(*, viewer, user_id: int, start: datetime, end: datetime, bucket: str) -> list[dict]:
    """One user's cells (see ``breakdown_cells``). Another user's figures only for an admin, or
    for anyone while System settings open the leaderboard to everyone; else nothing."""
    everyone = (
        user_id != getattr(viewer, "pk", None)
        and not sees_everything(viewer)
        and SystemSettings.get().allow_global_usage_view
    )
    return breakdown_cells(
        viewer=viewer, start=start, end=end, bucket=bucket, filters={"user_id": user_id}, everyone=everyone
    )


def fold_cells(cells: list[dict], key: str | None = None, *, link=None):
    """Cells summed over everything (``key`` None: one summary) or per ``key`` (largest cost first)."""
    groups: dict = {}
    for cell in cells:
        name = cell[key] if key else None
        target = groups.setdefault(name, {"name": name, "requests": 0, "errors": 0, "tokens": 0, "cost": None})
        target["requests"] += cell["requests"]
        target["errors"] += cell["errors"]
        target["tokens"] += cell["tokens"]
        if cell["cost"] is not None:
            target["cost"] = cell["cost"] if target["cost"] is None else target["cost"] + cell["cost"]
    for target in groups.values():
        target["success_rate"] = _ratio(target["requests"] - target["errors"], target["requests"])
        target["link"] = link(target["name"]) if link and key else None
    if key is None:
        return groups.get(None, {"requests": 0, "errors": 0, "tokens": None, "cost": None, "success_rate": None})
    return sorted(groups.values(), key=lambda g: (g["cost"] is None, -(g["cost"] or 0), -g["requests"], g["name"]))


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
            "value": row[group],
            "requests": row["requests"],
            "errors": row["errors"],
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
    if by == "model":
        # Beside each model as asked for: the models that actually ran it (a redirect shows here).
        ran = rollups.totals(viewer=viewer, start=start, end=end, group_by=("original_model", "model"),
                             zone=SystemSettings.get().zone, everyone=everyone, fields=("requests",))  # fmt: skip
        ran_as: dict[str, list] = {}
        for row in sorted(ran, key=lambda r: -r["requests"]):
            ran_as.setdefault(row["original_model"], []).append({"model": row["model"], "requests": row["requests"]})
        for entry in board:
            models = ran_as.get(entry["value"], [])
            entry["ran_as"] = [] if [m["model"] for m in models] == [entry["value"]] else models
    top = max((entry["cost"] for entry in board if entry["cost"] is not None), default=None)
    for entry in board:
        entry["cost_share"] = float(entry["cost"] / top) if top and entry["cost"] is not None else 0.0
    return board


def _fold(rows: list[dict], key: str) -> list[dict]:
    """Sum rows that share ``key``."""
    folded: dict = {}
    for row in rows:
        fields = [name for name in rollups.SUM_FIELDS if name in row]
        target = folded.setdefault(row[key], {key: row[key], **dict.fromkeys(fields, 0), "cost": None})
        for name in fields:
            if row[name] is not None:
                # A cost stays None (no data) until some request in the group had one.
                target[name] = row[name] if target[name] is None else target[name] + row[name]
    return list(folded.values())


def token_statistics(*, viewer, start: datetime, end: datetime, bucket: str, filters: dict | None = None) -> dict:
    check_bucket(start, end, bucket)
    zone = SystemSettings.get().zone
    # One pass over the rollups, grouped by model and bucket, gives both views.
    cells = rollups.totals(
        viewer=viewer, start=start, end=end, group_by=("original_model",), bucket=bucket, filters=filters, zone=zone,
        fields=TOKEN_STAT_FIELDS,
    )  # fmt: skip
    per_model = _fold(cells, "original_model")
    series = sorted(_fold(cells, "bucket"), key=lambda row: row["bucket"])
    summary = {name: sum(row[name] for row in per_model) for name in (
        "requests", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "reasoning_tokens",
        "zero_token_successes",
    )}  # fmt: skip
    summary["total_tokens"] = tokens_total(summary) if summary["requests"] else None
    prompt = summary["input_tokens"] + summary["cache_read_tokens"] + summary["cache_creation_tokens"]
    summary["cache_hit_ratio"] = _ratio(summary["cache_read_tokens"], prompt)
    kinds = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "reasoning_tokens")
    per_model_rows = [
        {
            "model": row["original_model"] or "—",
            "original_model": row["original_model"],
            "requests": row["requests"],
            **{kind: row[kind] for kind in kinds},
            "total_tokens": tokens_total(row),
            "cache_hit_ratio": _ratio(
                row["cache_read_tokens"], row["input_tokens"] + row["cache_read_tokens"] + row["cache_creation_tokens"]
            ),
        }
        for row in per_model
    ]
    return {
        "summary": summary,
        "per_model": sorted(per_model_rows, key=lambda r: (-r["total_tokens"], r["model"])),
        "series": [{"bucket": row["bucket"], **{kind: row[kind] for kind in kinds}} for row in series],
    }
