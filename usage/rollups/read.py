"""The read side of the rollups: exact sums over any window, fast.

Whole clean hours inside a window come from the rollup tables; the ragged edges, dirty hours
and hours never rolled up come from raw rows; both are grouped the same way and added, so a
result equals the same query on raw rows, at a cost that grows with hours, not rows. Both
sides go through the one visibility policy (``visible_to``), like every read of user data.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Trunc

from hub.visibility import Scope, audience
from usage import partitions
from usage.definitions import ERROR, ZERO_TOKENS, in_status_class
from usage.models import MessageRequest, UsageHourly, UsageHourlyBrief
from usage.periods import utc_month_bounds
from usage.rollups import day_cache
from usage.rollups.shape import BRIEF_FIELDS, GROUP_FIELDS, HOUR, SUM_FIELDS, floor_hour, hour_ranges


def _clean_hours(start: datetime, end: datetime) -> dict[datetime, str | None]:
    """Clean hours in [start, end) with their stamp: the version and time of the recompute that
    wrote their rollup rows (any change to an hour's rows comes with a new one); None if unknown."""
    # Epoch numbers, not timestamps: a 30-day window has 720 hours, and parsing 1,440
    # timestamps cost more than the query.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM hour)::bigint, version || '@' || (extract(epoch FROM rolled_at) * 1e6)::bigint "
            "FROM usage_rollup_hour WHERE hour >= %s AND hour < %s AND NOT dirty",
            [start, end],
        )
        return {datetime.fromtimestamp(epoch, UTC): stamp for epoch, stamp in cursor.fetchall()}


def zone_on_whole_hours(zone: zoneinfo.ZoneInfo, start: datetime, end: datetime) -> bool:
    """Whether local hours and days start on UTC hours throughout the window (not so in +05:30)."""
    moment = start
    while moment < end:
        if (moment.astimezone(zone).utcoffset() or timedelta()).total_seconds() % 3600:
            return False
        moment += timedelta(days=1)
    return (end.astimezone(zone).utcoffset() or timedelta()).total_seconds() % 3600 == 0


def plan(start: datetime, end: datetime, *, bucket: str | None = None, zone=None) -> tuple[list, list]:
    """(hours read from rollups as ranges, raw time ranges) that exactly cover [start, end)."""
    stamps, raw = _plan(start, end, bucket=bucket, zone=zone)
    return hour_ranges(list(stamps)), raw


def _plan(start: datetime, end: datetime, *, bucket: str | None, zone) -> tuple[dict[datetime, str], list]:
    """({clean hour read from rollups: its stamp}, raw time ranges) that exactly cover [start, end).
    Built from the clean hours that exist, never hour by hour over the window asked for."""
    first = floor_hour(start) + (HOUR if floor_hour(start) != start else timedelta())
    last = floor_hour(end)
    if first >= last or (bucket and zone is not None and not zone_on_whole_hours(zone, start, end)):
        return {}, [(start, end)]  # no whole UTC hour maps onto one local bucket: raw rows only
    clean = _clean_hours(first, last)
    raw = [(start, first)] if start < first else []
    cursor = first
    for hour in sorted(clean):
        if hour > cursor:
            raw.append((cursor, hour))
        cursor = hour + HOUR
    if cursor < last:
        raw.append((cursor, last))
    if last < end:
        raw.append((last, end))
    return clean, raw


def clamp_to_data(start: datetime, end: datetime, zone=None) -> tuple[datetime, datetime] | None:
    """[start, end) narrowed to the months that hold request partitions (no row lives outside
    them), so a window asked from the year 93 costs what the data costs; None when none overlap.
    The new bounds fall on local midnights a day clear of the data (``zone``, else UTC), so the
    days a window reads stay whole for the closed-day cache."""
    months = partitions.existing_partitions()
    if not months:
        return None
    zone = zone or UTC
    first, last = utc_month_bounds(min(months))[0], utc_month_bounds(max(months))[1]
    floor = datetime.combine((first.astimezone(zone) - timedelta(days=1)).date(), time.min, zone)
    ceiling = datetime.combine((last.astimezone(zone) + timedelta(days=1)).date(), time.min, zone)
    start, end = max(start, floor), min(end, ceiling)
    return (start, end) if start < end else None


def _within(field: str, ranges) -> Q:
    """``field`` inside any of the [low, high) ranges."""
    window = Q()
    for low, high in ranges:
        window |= Q(**{f"{field}__gte": low, f"{field}__lt": high})
    return window


def _bucket_expression(field: str, bucket: str | None, zone):
    if bucket is None:
        return Value(None, output_field=IntegerField())
    return Trunc(field, bucket, tzinfo=zone)


# Each sum as raw rows give it: the same definitions the rollup SQL is compiled from.
_RAW_AGGREGATES = {
    "requests": Count("id"),
    "errors": Count("id", filter=ERROR),
    "streams": Count("id", filter=Q(is_stream=True)),
    "input_tokens": Sum("input_tokens"),
    "output_tokens": Sum("output_tokens"),
    "cache_creation_tokens": Sum("cache_creation_tokens"),
    "cache_read_tokens": Sum("cache_read_tokens"),
    "reasoning_tokens": Sum("reasoning_tokens"),
    "cost": Sum("cost"),
    "priced": Count("cost"),
    "zero_token_successes": Count("id", filter=ZERO_TOKENS),
    "duration_sum": Coalesce(Sum("duration_ms"), 0),
    "duration_count": Count("duration_ms"),
    "ttft_sum": Coalesce(Sum("ttft_ms"), 0),
    "ttft_count": Count("ttft_ms"),
}


def _raw_part(rows: QuerySet, ranges, group_by: Sequence[str], bucket, zone, fields=SUM_FIELDS) -> list[dict]:
    if not ranges:
        return []
    rows = (
        rows.order_by()
        .filter(_within("created_at", ranges))
        .annotate(
            status_class=Coalesce(F("status_code") / 100, Value(0)),
            bucket=_bucket_expression("created_at", bucket, zone),
        )
    )
    aggregates = {name: _RAW_AGGREGATES[name] for name in fields}
    # Aggregates get prefixed names: "cost" the sum must not shadow "cost" the column.
    grouped = rows.values(*group_by, "bucket").annotate(**{f"agg_{name}": value for name, value in aggregates.items()})
    return [
        {**{name: row[name] for name in (*group_by, "bucket")}, **{name: row[f"agg_{name}"] for name in aggregates}}
        for row in grouped
    ]


def _rollup_part(rollups: QuerySet, ranges, group_by: Sequence[str], bucket, zone, fields=SUM_FIELDS) -> list[dict]:
    if not ranges:
        return []
    rows = rollups.filter(_within("hour", ranges)).annotate(bucket=_bucket_expression("hour", bucket, zone))
    return list(rows.values(*group_by, "bucket").annotate(**{name: Sum(name) for name in fields}))


def _merge(parts, group_by: Sequence[str], fields: Sequence[str]) -> list[dict]:
    merged: dict[tuple, dict] = {}
    for part in parts:
        for row in part:
            key = tuple(row[name] for name in group_by) + (row["bucket"],)
            target = merged.setdefault(key, {**{name: row[name] for name in group_by}, "bucket": row["bucket"]})
            for name in fields:
                value = row[name]
                if value is None:
                    target.setdefault(name, None)
                elif target.get(name) is None:
                    target[name] = value
                else:
                    target[name] += value
    for row in merged.values():
        for name in fields:
            if row.get(name) is None and name != "cost":
                row[name] = 0
        if row.get("cost") is not None:
            row["cost"] = Decimal(row["cost"])
    return sorted(merged.values(), key=lambda r: tuple(str(r[name]) for name in (*group_by, "bucket")))


def totals(
    *, viewer, start: datetime, end: datetime, group_by: Sequence[str] = (), bucket: str | None = None,
    filters: dict | None = None, zone=None, scope: Scope = Scope.OWN, fields: Sequence[str] = SUM_FIELDS,
) -> list[dict]:  # fmt: skip
    """Sums over [start, end) of the rows ``viewer`` may see for ``scope`` (see
    ``hub.visibility``), per ``group_by`` (fields of GROUP_FIELDS) and per ``bucket`` ('hour'
    or 'day' in ``zone``), exactly as the raw rows would give them. ``fields``: the sums wanted
    (fewer sums, a faster scan); rows hold only those."""
    unknown = set(group_by) - set(GROUP_FIELDS)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}")
    if set(fields) - set(SUM_FIELDS):
        raise ValueError(f"cannot sum {sorted(set(fields) - set(SUM_FIELDS))}")
    filters = filters or {}
    raw_filters = {name: value for name, value in filters.items() if name != "status_class"}
    raw_rows = MessageRequest.objects.visible_to(viewer, scope=scope).live().filter(**raw_filters)
    if "status_class" in filters:  # a rollup column; the raw rows hold the code it is made of
        raw_rows = raw_rows.filter(in_status_class(filters["status_class"]))
    # The brief rollup (a few dozen rows an hour) answers whatever needs no finer field.
    brief = set(group_by) <= BRIEF_FIELDS and set(filters) <= BRIEF_FIELDS
    rollups = (UsageHourlyBrief if brief else UsageHourly).objects.visible_to(viewer, scope=scope).filter(**filters)
    window = clamp_to_data(start, end, zone if isinstance(zone, zoneinfo.ZoneInfo) else None)
    if raw_rows.query.is_empty() or window is None:
        return []
    start, end = window
    stamps, raw_ranges = _plan(start, end, bucket=bucket, zone=zone)
    # Per local day, so closed days come from the cache: day buckets, and whole windows that
    # span a day or more (a month's leaderboard) in a zone whose days start on UTC hours.
    # Not with filters: each value typed in would be a new set of keys in the cache.
    by_days = (
        isinstance(zone, zoneinfo.ZoneInfo)
        and not filters
        and len(stamps) >= 24
        and (bucket == "day" or (bucket is None and zone_on_whole_hours(zone, start, end)))
    )
    if by_days:
        shape = repr((connection.settings_dict["NAME"], rollups.model._meta.db_table, audience(viewer, scope),
                      tuple(group_by), tuple(fields), zone.key))  # fmt: skip
        found = day_cache.lookup(stamps, zone, shape)
        fresh = _rollup_part(rollups, hour_ranges(found.missing_hours), group_by, "day", zone, fields)
        day_cache.store(found, fresh, zone)
        rollup_rows = found.rows + fresh
        if bucket is None:
            rollup_rows = [{**row, "bucket": None} for row in rollup_rows]  # summed below
    else:
        rollup_rows = _rollup_part(rollups, hour_ranges(list(stamps)), group_by, bucket, zone, fields)
    return _merge((rollup_rows, _raw_part(raw_rows, raw_ranges, group_by, bucket, zone, fields)), group_by, fields)
