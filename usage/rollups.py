"""Exact hourly rollups of ``message_request`` (DESIGN decision 6).

Write side: whoever writes request rows marks their UTC hours dirty in the same transaction
(``mark_hours``); ``rollup_hour`` rewrites one hour's ``usage_hourly`` rows from the raw rows
in one transaction and clears the mark only if nobody re-marked the hour meanwhile. Running
it twice, concurrently (an advisory lock per hour) or after a crash leaves the same rows.

Read side (``totals``): whole clean hours inside a window come from ``usage_hourly``; the
ragged edges, dirty hours and hours never rolled up come from raw rows; both are grouped the
same way and added, so a result equals the same query on raw rows, at a cost that grows with
hours, not rows.
"""

from __future__ import annotations

import hashlib
import logging
import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Trunc

from hub.visibility import is_known, sees_everything
from usage.models import LATENCY_BOUNDS_MS, MessageRequest, RollupHour, UsageHourly, UsageHourlyBrief

logger = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
GROUP_FIELDS = ("user_id", "key_id", "provider_id", "model", "original_model", "endpoint", "status_class")
SUM_FIELDS = (
    "requests", "errors", "streams", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
    "reasoning_tokens", "cost", "priced", "zero_token_successes", "duration_sum", "duration_count", "ttft_sum",
    "ttft_count",
)  # fmt: skip
# Hours nobody wrote to get a clean state this far back (the longest window a page charts by day).
UNKNOWN_HOURS_WINDOW = timedelta(days=35)
_LOCK_NAMESPACE = 0x726F6C6C  # "roll": pg_advisory_xact_lock(namespace, hour)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _check_hour(hour: datetime) -> datetime:
    if hour.tzinfo is None or floor_hour(hour) != hour:
        raise ValueError(f"{hour!r} is not the start of a UTC hour")
    return hour.astimezone(UTC)


# --------------------------------------------------------------------------- write side


def mark_hours(hours: Iterable[datetime]) -> None:
    """Mark hours dirty. Call inside the transaction that writes their rows."""
    hours = sorted({floor_hour(hour) for hour in hours})
    if not hours:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO usage_rollup_hour (hour, dirty, version)
            SELECT unnest(%s::timestamptz[]), true, 1
            ON CONFLICT (hour) DO UPDATE SET dirty = true, version = usage_rollup_hour.version + 1
            """,
            [hours],
        )


def mark_range(start: datetime, end: datetime) -> None:
    """Mark every hour from start's to end's (a bulk load, a retention drop)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO usage_rollup_hour (hour, dirty, version)
            SELECT generate_series(%s::timestamptz, %s::timestamptz, interval '1 hour'), true, 1
            ON CONFLICT (hour) DO UPDATE SET dirty = true, version = usage_rollup_hour.version + 1
            """,
            [floor_hour(start), floor_hour(end)],
        )


# A request that succeeded yet reported no tokens: a data-quality problem worth a look.
ZERO_TOKENS_SQL = (
    "status_code < 400 AND input_tokens = 0 AND output_tokens = 0 AND cache_creation_tokens = 0 "
    "AND cache_read_tokens = 0"
)
ZERO_TOKENS = Q(status_code__lt=400, input_tokens=0, output_tokens=0, cache_creation_tokens=0, cache_read_tokens=0)


def _histogram_sql() -> str:
    bounds = (0, *LATENCY_BOUNDS_MS)
    parts = []
    for index, low in enumerate(bounds):
        high = bounds[index + 1] if index + 1 < len(bounds) else None
        condition = f"duration_ms >= {low}" + (f" AND duration_ms < {high}" if high else "")
        parts.append(f"count(*) FILTER (WHERE {condition})")
    return "ARRAY[" + ", ".join(parts) + "]::bigint[]"


_ROLLUP_SQL = f"""
INSERT INTO usage_hourly (
    hour, user_id, key_id, provider_id, model, original_model, endpoint, status_class,
    requests, errors, streams, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens,
    reasoning_tokens, cost, priced, zero_token_successes, duration_sum, duration_count, ttft_sum, ttft_count,
    latency_histogram
)
SELECT %(hour)s, user_id, key_id, provider_id, model, original_model, endpoint, COALESCE(status_code / 100, 0),
    count(*), count(*) FILTER (WHERE status_code >= 400 OR error_message <> ''), count(*) FILTER (WHERE is_stream),
    sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens), sum(reasoning_tokens),
    sum(cost), count(cost), count(*) FILTER (WHERE {ZERO_TOKENS_SQL}),
    COALESCE(sum(duration_ms), 0), count(duration_ms), COALESCE(sum(ttft_ms), 0), count(ttft_ms),
    {_histogram_sql()}
FROM message_request
WHERE created_at >= %(hour)s AND created_at < %(next)s AND deleted_at IS NULL
GROUP BY user_id, key_id, provider_id, model, original_model, endpoint, COALESCE(status_code / 100, 0)
"""


_SUMS = ", ".join(SUM_FIELDS)
# The model that ran rides along with the one asked for: redirects are few, so it adds few rows
# and lets the leaderboard show "ran as" without reading the fine rollup.
_BRIEF_SQL = (
    f"INSERT INTO usage_hourly_brief (hour, user_id, provider_id, original_model, model, {_SUMS}) "
    "SELECT hour, user_id, provider_id, original_model, model, "
    + ", ".join(f"sum({name})" for name in SUM_FIELDS)
    + " FROM usage_hourly WHERE hour = %(hour)s GROUP BY hour, user_id, provider_id, original_model, model"
)
# Groupings and filters the brief rollup can answer.
BRIEF_FIELDS = frozenset({"user_id", "provider_id", "original_model", "model"})


def rollup_hour(hour: datetime) -> bool:
    """Rewrite one hour's rollup rows from raw rows. True when the hour ends clean."""
    hour = _check_hour(hour)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, int(hour.timestamp() // 3600)])
        cursor.execute("SELECT version FROM usage_rollup_hour WHERE hour = %s", [hour])
        found = cursor.fetchone()
        version = found[0] if found else None
        cursor.execute("DELETE FROM usage_hourly WHERE hour = %s", [hour])
        cursor.execute("DELETE FROM usage_hourly_brief WHERE hour = %s", [hour])
        cursor.execute(_ROLLUP_SQL, {"hour": hour, "next": hour + HOUR})
        cursor.execute(_BRIEF_SQL, {"hour": hour})
        # clock_timestamp(), not now(): each recompute its own stamp, even several in one
        # transaction (the closed-day cache keys on it).
        if version is None:
            cursor.execute(
                "INSERT INTO usage_rollup_hour (hour, dirty, version, rolled_at) "
                "VALUES (%s, false, 1, clock_timestamp()) ON CONFLICT (hour) DO NOTHING",
                [hour],
            )
            return cursor.rowcount == 1
        # A writer that re-marked the hour while we worked bumped the version: stay dirty.
        cursor.execute(
            "UPDATE usage_rollup_hour SET dirty = false, rolled_at = clock_timestamp() "
            "WHERE hour = %s AND version = %s",
            [hour, version],
        )
        return cursor.rowcount == 1


def rollup_dirty(*, limit: int = 500) -> int:
    """Roll up dirty hours, oldest first; return how many were processed."""
    hours = list(RollupHour.objects.filter(dirty=True).order_by("hour").values_list("hour", flat=True)[:limit])
    for hour in hours:
        rollup_hour(hour)
    if hours:
        logger.info("rolled up %d hours (%s .. %s)", len(hours), hours[0], hours[-1])
    return len(hours)


def rollup_unknown(since: datetime, until: datetime, *, limit: int = 1_000) -> int:
    """Roll up the hours in [since, until) that have no state yet; return how many.

    Writers mark every hour they write, so an hour without a state held no rows when last
    looked at; rolling it up anyway (exact whatever it holds) gives it a clean state, so a
    quiet night does not keep its day from being whole for the closed-day cache. A row that
    arrives later marks the hour dirty like any other."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT moment FROM generate_series(%s::timestamptz, %s::timestamptz - interval '1 hour', "
            "interval '1 hour') AS moment WHERE NOT EXISTS (SELECT 1 FROM usage_rollup_hour WHERE hour = moment) "
            "ORDER BY moment LIMIT %s",
            [floor_hour(since), floor_hour(until), limit],
        )
        hours = [row[0] for row in cursor.fetchall()]
    for hour in hours:
        rollup_hour(hour)
    return len(hours)


def schedule_rollup() -> None:
    """After commit, ask a worker to roll up what is dirty (idempotent, so duplicates are harmless)."""
    from usage.tasks import rollups_process

    transaction.on_commit(rollups_process.delay)


# --------------------------------------------------------------------------- read side


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


def _ranges(hours: Sequence[datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive hours merged into [start, end) ranges."""
    ranges: list[tuple[datetime, datetime]] = []
    for hour in sorted(hours):
        if ranges and ranges[-1][1] == hour:
            ranges[-1] = (ranges[-1][0], hour + HOUR)
        else:
            ranges.append((hour, hour + HOUR))
    return ranges


def _zone_on_whole_hours(zone: zoneinfo.ZoneInfo, start: datetime, end: datetime) -> bool:
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
    return _ranges(stamps), raw


def _plan(start: datetime, end: datetime, *, bucket: str | None, zone) -> tuple[dict[datetime, str], list]:
    """({clean hour read from rollups: its stamp}, raw time ranges) that exactly cover [start, end)."""
    first = floor_hour(start) + (HOUR if floor_hour(start) != start else timedelta())
    last = floor_hour(end)
    if first >= last or (bucket and zone is not None and not _zone_on_whole_hours(zone, start, end)):
        return {}, [(start, end)]  # no whole UTC hour maps onto one local bucket: raw rows only
    clean = _clean_hours(first, last)
    raw_hours = []
    moment = first
    while moment < last:
        if moment not in clean:
            raw_hours.append(moment)
        moment += HOUR
    raw = [(start, first)] if start < first else []
    raw += _ranges(raw_hours)
    if last < end:
        raw.append((last, end))
    return clean, raw


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
    aggregates = {
        "requests": Count("id"),
        "errors": Count("id", filter=Q(status_code__gte=400) | ~Q(error_message="")),
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
    aggregates = {name: aggregates[name] for name in fields}
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


# Closed days: a local day whose every hour is clean has day sums that only a recompute of one
# of its hours can change, and a recompute gives that hour a new stamp. So a day's sums are
# kept in the cache under a key made of everything that shapes them (who sees what, grouping,
# sums, zone, day) and of its hours' stamps: a changed hour is a new key, never a stale
# answer. A 30-day chart then reads one day of rollups instead of thirty. Filtered reads are
# not kept (every value typed in would be new keys), nor days whose midnight PostgreSQL's
# time-zone rules place elsewhere than Python's.
_DAY_CACHE_VERSION = 2
DAY_CACHE_SECONDS = 7 * 24 * 3600


def _database_days(stamps: dict[datetime, str | None], zone: zoneinfo.ZoneInfo) -> dict[datetime, date]:
    """Each hour's local day as PostgreSQL sees it. Its time-zone rules are the ones that
    bucket the rows, and may be a release apart from Python's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM moment)::bigint, to_char(moment AT TIME ZONE %s, 'YYYYMMDD')::int "
            "FROM generate_series(%s::timestamptz, %s::timestamptz, interval '1 hour') AS moment",
            [zone.key, min(stamps), max(stamps)],
        )
        return {
            datetime.fromtimestamp(epoch, UTC): date(day // 10_000, day // 100 % 100, day % 100)
            for epoch, day in cursor.fetchall()
        }


def _whole_days(stamps: dict[datetime, str | None], zone, day_of: dict[datetime, date]) -> dict[date, list[datetime]]:
    """Local days whose every hour is in ``stamps`` with a known stamp: their hours. A day counts
    only where PostgreSQL's and Python's rules agree on where it starts and ends."""
    days: dict[date, list[datetime]] = {}
    for hour in sorted(stamps):
        days.setdefault(day_of[hour], []).append(hour)
    whole = {}
    for day, hours in days.items():
        day_start = datetime.combine(day, time.min, zone).astimezone(UTC)
        day_end = datetime.combine(day + timedelta(days=1), time.min, zone).astimezone(UTC)
        if hours[0] == day_start and len(hours) == (day_end - day_start) // HOUR and all(map(stamps.get, hours)):
            whole[day] = hours
    return whole


def _day_key(shape: str, day: date, hours: list[datetime], stamps: dict[datetime, str]) -> str:
    material = "|".join((shape, day.isoformat(), *(f"{hour.timestamp():.0f}={stamps[hour]}" for hour in hours)))
    return f"rollup-day:{_DAY_CACHE_VERSION}:{hashlib.blake2b(material.encode(), digest_size=20).hexdigest()}"


def _rollup_days(rollups: QuerySet, stamps: dict[datetime, str], group_by, zone, fields, shape: str) -> list[dict]:
    """The rollup part per local day: closed days from the cache where it has them, the rest
    (days it lacks and days not wholly clean) in one query; the days it lacked are kept."""
    day_of = _database_days(stamps, zone)
    whole = _whole_days(stamps, zone, day_of)
    keys = {day: _day_key(shape, day, hours, stamps) for day, hours in whole.items()}
    found = cache.get_many(list(keys.values()))
    cached_days = {day for day, key in keys.items() if key in found}
    rows = [row for day in sorted(cached_days) for row in found[keys[day]]]
    wanted = [hour for hour in stamps if day_of[hour] not in cached_days]
    fresh = _rollup_part(rollups, _ranges(wanted), group_by, "day", zone, fields)
    rows += fresh
    computed: dict[date, list[dict]] = {day: [] for day in whole if day not in cached_days}
    for row in fresh:
        day = row["bucket"].astimezone(zone).date()
        if day in computed:
            computed[day].append(row)
    if computed:
        cache.set_many({keys[day]: day_rows for day, day_rows in computed.items()}, DAY_CACHE_SECONDS)
    return rows


def totals(
    *, viewer, start: datetime, end: datetime, group_by: Sequence[str] = (), bucket: str | None = None,
    filters: dict | None = None, zone=None, everyone: bool = False, fields: Sequence[str] = SUM_FIELDS,
) -> list[dict]:  # fmt: skip
    """Sums over [start, end) the viewer may see, per ``group_by`` (fields of GROUP_FIELDS) and
    per ``bucket`` ('hour' or 'day' in ``zone``), exactly as the raw rows would give them.
    ``everyone`` widens a signed-in user's view to all users' rows: only for the leaderboard,
    when SystemSettings.allow_global_usage_view says so. ``fields``: the sums wanted (fewer sums,
    a faster scan); rows hold only those."""
    unknown = set(group_by) - set(GROUP_FIELDS)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}")
    if set(fields) - set(SUM_FIELDS):
        raise ValueError(f"cannot sum {sorted(set(fields) - set(SUM_FIELDS))}")
    if not is_known(viewer):
        return []
    filters = filters or {}
    raw_rows = (MessageRequest.objects.all() if everyone else MessageRequest.objects.visible_to(viewer)).live()
    raw_rows = raw_rows.filter(**filters)
    # The brief rollup (a few dozen rows an hour) answers whatever needs no finer field.
    brief = set(group_by) <= BRIEF_FIELDS and set(filters) <= BRIEF_FIELDS
    rollups = (UsageHourlyBrief if brief else UsageHourly).objects.filter(**filters)
    if not (everyone or sees_everything(viewer)):
        rollups = rollups.filter(user_id=viewer.pk)
    stamps, raw_ranges = _plan(start, end, bucket=bucket, zone=zone)
    # Per local day, so closed days come from the cache: day buckets, and whole windows that
    # span a day or more (a month's leaderboard) in a zone whose days start on UTC hours.
    # Not with filters: each value typed in would be a new set of keys in the cache.
    by_days = (
        isinstance(zone, zoneinfo.ZoneInfo)
        and not filters
        and len(stamps) >= 24
        and (bucket == "day" or (bucket is None and _zone_on_whole_hours(zone, start, end)))
    )
    if by_days:
        scope = "all" if everyone or sees_everything(viewer) else f"user={viewer.pk}"
        shape = repr((connection.settings_dict["NAME"], rollups.model._meta.db_table, scope, tuple(group_by),
                      tuple(fields), zone.key))  # fmt: skip
        rollup_rows = _rollup_days(rollups, stamps, group_by, zone, fields, shape)
        if bucket is None:
            rollup_rows = [{**row, "bucket": None} for row in rollup_rows]  # summed below
    else:
        rollup_rows = _rollup_part(rollups, _ranges(stamps), group_by, bucket, zone, fields)
    merged: dict[tuple, dict] = {}
    for part in (rollup_rows, _raw_part(raw_rows, raw_ranges, group_by, bucket, zone, fields)):
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


def forget_months(start: datetime, end: datetime) -> None:
    """Retention dropped the raw rows of [start, end): their rollups and states go too."""
    UsageHourly.objects.filter(hour__gte=start, hour__lt=end).delete()
    UsageHourlyBrief.objects.filter(hour__gte=start, hour__lt=end).delete()
    RollupHour.objects.filter(hour__gte=start, hour__lt=end).delete()
