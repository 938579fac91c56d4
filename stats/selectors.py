"""Dashboard, leaderboard and token statistics: read queries over the exact rollups.

Every figure comes from ``usage.rollups.totals`` (rollups for whole hours, raw rows for
the rest), so it equals the same query on raw rows. The same functions serve pages and API.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy

from hub.models import SystemSettings, User
from hub.visibility import Scope, sees_everything
from providers.models import Provider
from providers.pricing import COST_PLACES
from stats.periods import StatsError, check_bucket
from usage import rollups
from usage.definitions import TOKEN_KINDS, TOKEN_KINDS_WITH_REASONING, cache_hit_ratio, ratio, total_tokens
from usage.periods import range_bounds

LEADERBOARDS = ("user", "provider", "model")
NO_PROVIDER = gettext_lazy("(no provider)")

# The sums a chart or series needs: fewer sums make the rollup scan faster.
CHART_FIELDS = ("requests", "errors", "cost", *TOKEN_KINDS)
TOKEN_STAT_FIELDS = ("requests", *TOKEN_KINDS_WITH_REASONING, "zero_token_successes")


def _summary(row: dict | None) -> dict:
    if not row or not row["requests"]:
        return {"requests": 0, "cost": None, "tokens": None, "errors": 0}
    return {
        "requests": row["requests"],
        "errors": row["errors"],
        "cost": row["cost"],
        "tokens": total_tokens(row),
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
            "tokens": total_tokens(row),
        }
        for row in sorted(rows, key=lambda r: (r["bucket"], str(key(r))))
    ]


def _provider_names() -> dict:
    return dict(Provider.objects.values_list("pk", "name"))


def breakdown_cells(
    *, viewer, start: datetime, end: datetime, bucket: str, filters: dict | None = None, scope: Scope = Scope.OWN
) -> list[dict]:
    """Requests, errors, cost and tokens per bucket, provider and model (as asked for): one pass
    over the rollups serves the charts by model and by provider alike."""
    check_bucket(start, end, bucket)
    rows = rollups.totals(
        viewer=viewer, start=start, end=end, group_by=("provider_id", "original_model"), bucket=bucket,
        filters=filters, zone=SystemSettings.get().zone, scope=scope, fields=CHART_FIELDS,
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
            "tokens": total_tokens(row),
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
    for anyone who may see the leaderboard; else nothing."""
    return breakdown_cells(
        viewer=viewer, start=start, end=end, bucket=bucket, filters={"user_id": user_id}, scope=Scope.LEADERBOARD
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
        target["success_rate"] = ratio(target["requests"] - target["errors"], target["requests"])
        target["link"] = link(target["name"]) if link and key else None
    if key is None:
        return groups.get(None, {"requests": 0, "errors": 0, "tokens": None, "cost": None, "success_rate": None})
    return sorted(groups.values(), key=lambda g: (g["cost"] is None, -(g["cost"] or 0), -g["requests"], g["name"]))


def leaderboard(*, viewer, start: datetime, end: datetime, by: str) -> list[dict]:
    if by not in LEADERBOARDS:
        raise StatsError("by", f"one of {', '.join(LEADERBOARDS)}")
    group = {"user": "user_id", "provider": "provider_id", "model": "original_model"}[by]
    rows = rollups.totals(
        viewer=viewer, start=start, end=end, group_by=(group,), zone=SystemSettings.get().zone, scope=Scope.LEADERBOARD
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
        total = total_tokens(row)
        entry = {
            "id": row[group] if by != "model" else None,
            "name": names.get(row[group], "—") if by != "model" else (row[group] or "—"),
            "value": row[group],
            "requests": row["requests"],
            "errors": row["errors"],
            "cost": row["cost"],
            "tokens": total,
            "success_rate": ratio(row["requests"] - row["errors"], row["requests"]),
            "cache_hit_rate": cache_hit_ratio(row),
            "avg_duration_ms": ratio(row["duration_sum"], row["duration_count"]),
            "avg_ttft_ms": ratio(row["ttft_sum"], row["ttft_count"]),
            "output_tokens_per_second": ratio(row["output_tokens"], row["duration_sum"] / 1000)
            if row["duration_sum"]
            else None,
            "cost_per_million_tokens": (row["cost"] * 1_000_000 / total).quantize(COST_PLACES)
            if row["cost"] is not None and total
            else None,
        }
        board.append(entry)
    board.sort(key=lambda e: (e["cost"] is None, -(e["cost"] or Decimal(0)), -e["requests"]))
    for rank, entry in enumerate(board, start=1):
        entry["rank"] = rank
    if by == "model":
        # Beside each model as asked for: the models that actually ran it (a redirect shows here).
        ran = rollups.totals(viewer=viewer, start=start, end=end, group_by=("original_model", "model"),
                             zone=SystemSettings.get().zone, scope=Scope.LEADERBOARD, fields=("requests",))  # fmt: skip
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
    summary = {name: sum(row[name] for row in per_model) for name in TOKEN_STAT_FIELDS}
    summary["total_tokens"] = total_tokens(summary) if summary["requests"] else None
    summary["cache_hit_ratio"] = cache_hit_ratio(summary)
    kinds = TOKEN_KINDS_WITH_REASONING
    per_model_rows = [
        {
            "model": row["original_model"] or "—",
            "original_model": row["original_model"],
            "requests": row["requests"],
            **{kind: row[kind] for kind in kinds},
            "total_tokens": total_tokens(row),
            "cache_hit_ratio": cache_hit_ratio(row),
        }
        for row in per_model
    ]
    return {
        "summary": summary,
        "per_model": sorted(per_model_rows, key=lambda r: (-r["total_tokens"], r["model"])),
        "series": [{"bucket": row["bucket"], **{kind: row[kind] for kind in kinds}} for row in series],
    }
