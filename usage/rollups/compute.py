"""The write side of the rollups: marking hours dirty and recomputing them.

Whoever writes request rows marks their UTC hours dirty in the same transaction
(``mark_hours``, done by the one write path in ``usage.services``); ``rollup_hour`` rewrites
one hour's rollup rows from the raw rows in one transaction and clears the mark only if
nobody re-marked the hour meanwhile. Running it twice, concurrently (an advisory lock per
hour) or after a crash leaves the same rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from usage.definitions import condition_sql
from usage.models import LATENCY_BOUNDS_MS, TOKEN_BOUNDS, TOKEN_HISTOGRAM_KINDS, RetentionState, RollupHour
from usage.rollups import cumulative, marks
from usage.rollups.shape import HOUR, SUM_FIELDS, check_hour, floor_hour

logger = logging.getLogger(__name__)
# Hours nobody wrote to get a clean state this far back (the longest window a page charts by day).
UNKNOWN_HOURS_WINDOW = timedelta(days=35)
_LOCK_NAMESPACE = 0x726F6C6C  # "roll": pg_advisory_xact_lock(namespace, hour)
# Under steady writes an hour rests at least this many times as long as its last recompute took:
# the worker spends at most about a tenth of its time on any one hour that keeps being written.
REST_FACTOR = 10


def mark_hours(hours: Iterable[datetime]) -> None:
    """Mark hours dirty. Call inside the transaction that writes their rows."""
    marks.mark(RollupHour, hours)


def mark_range(start: datetime, end: datetime) -> None:
    """Mark every hour from start's to end's (a backfill, a retention drop)."""
    marks.mark_series(RollupHour, start, end)


def _histogram_sql(column: str, bounds: Sequence[int], *, inclusive: bool = False) -> str:
    """Counts of ``column`` per bucket: [low, high) of LATENCY_BOUNDS_MS, or (low, high] of
    inclusive bounds (TOKEN_BOUNDS); the last bucket is open-ended; NULLs are in none."""
    parts = []
    if inclusive:
        for index, high in enumerate(bounds):
            low = bounds[index - 1] if index else None
            parts.append(f"{column} <= {high}" + (f" AND {column} > {low}" if low is not None else ""))
        parts.append(f"{column} > {bounds[-1]}")
    else:
        edges = (0, *bounds)
        for index, low in enumerate(edges):
            high = edges[index + 1] if index + 1 < len(edges) else None
            parts.append(f"{column} >= {low}" + (f" AND {column} < {high}" if high else ""))
    return ", ".join(f"count(*) FILTER (WHERE {part})" for part in parts)


#: the columns of a usage_hourly row, in the order ``rollup_select`` gives them
ROLLUP_COLUMNS = (
    "hour", "user_id", "key_id", "provider_id", "model", "original_model", "endpoint", "status_class",
    "requests", "errors", "streams", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
    "reasoning_tokens", "cost", "priced", "zero_token_successes", "duration_sum", "duration_count", "ttft_sum",
    "ttft_count", "latency_histogram", "ttft_histogram", "token_histogram",
)  # fmt: skip


def rollup_select(where: str) -> str:
    """The rollup rows (ROLLUP_COLUMNS) of the raw rows matching ``where``, per UTC hour. The error
    and zero-token conditions are the log filters' own Q objects, compiled."""
    tokens = ", ".join(_histogram_sql(kind, TOKEN_BOUNDS, inclusive=True) for kind in TOKEN_HISTOGRAM_KINDS)
    return f"""
SELECT date_trunc('hour', created_at, 'UTC') AS hour, user_id, key_id, provider_id, model, original_model, endpoint,
    COALESCE(status_code / 100, 0) AS status_class,
    count(*) AS requests, count(*) FILTER (WHERE {condition_sql("ERROR")}) AS errors,
    count(*) FILTER (WHERE is_stream) AS streams,
    sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
    sum(cache_creation_tokens) AS cache_creation_tokens, sum(cache_read_tokens) AS cache_read_tokens,
    sum(reasoning_tokens) AS reasoning_tokens, sum(cost) AS cost, count(cost) AS priced,
    count(*) FILTER (WHERE {condition_sql("ZERO_TOKENS")}) AS zero_token_successes,
    COALESCE(sum(duration_ms), 0) AS duration_sum, count(duration_ms) AS duration_count,
    COALESCE(sum(ttft_ms), 0) AS ttft_sum, count(ttft_ms) AS ttft_count,
    ARRAY[{_histogram_sql("duration_ms", LATENCY_BOUNDS_MS)}]::bigint[] AS latency_histogram,
    ARRAY[{_histogram_sql("ttft_ms", LATENCY_BOUNDS_MS)}]::bigint[] AS ttft_histogram,
    ARRAY[{tokens}]::bigint[] AS token_histogram
FROM message_request
WHERE ({where}) AND deleted_at IS NULL
GROUP BY 1, user_id, key_id, provider_id, model, original_model, endpoint, COALESCE(status_code / 100, 0)
"""  # noqa: S608  (built from constants)


_COLUMNS = ", ".join(ROLLUP_COLUMNS)


@cache
def _fresh_sql() -> str:
    return (
        f"INSERT INTO {cumulative.FRESH} ({_COLUMNS}) SELECT {_COLUMNS} FROM ("  # noqa: S608
        f"{rollup_select('created_at >= %(hour)s AND created_at < %(next)s')}) AS fresh"
    )


def _stage_fresh(cursor, hour: datetime) -> None:
    """The hour's new rollup rows, computed into a temporary table first: the totals are moved by
    the difference between them and the rows they replace, before those are swapped."""
    # Emptied at commit, reused by the session (as usage.bulk's staging table).
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {cumulative.FRESH} ON COMMIT DELETE ROWS AS "
        f"SELECT {_COLUMNS} FROM usage_hourly WITH NO DATA"
    )
    cursor.execute(f"TRUNCATE {cumulative.FRESH}")
    cursor.execute(_fresh_sql(), {"hour": hour, "next": hour + HOUR})


_SUMS = ", ".join(SUM_FIELDS)
# The model that ran rides along with the one asked for: redirects are few, so it adds few rows
# and lets the leaderboard show "ran as" without reading the fine rollup.
_BRIEF_SQL = (
    f"INSERT INTO usage_hourly_brief (hour, user_id, provider_id, original_model, model, {_SUMS}) "
    "SELECT hour, user_id, provider_id, original_model, model, "
    + ", ".join(f"sum({name})" for name in SUM_FIELDS)
    + " FROM usage_hourly WHERE hour = %(hour)s GROUP BY hour, user_id, provider_id, original_model, model"
)


def rollup_hour(hour: datetime) -> bool:
    """Rewrite one hour's rollup rows from raw rows. True when the hour ends clean."""
    hour = check_hour(hour)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, int(hour.timestamp() // 3600)])
        cursor.execute("SELECT version FROM usage_rollup_hour WHERE hour = %s", [hour])
        found = cursor.fetchone()
        version = found[0] if found else None
        if _purged(cursor, hour):
            # Retention took the hour's rows: its rollups are final (recomputed now they would
            # be zero, and the counters read from them would go down). Only the mark goes.
            cursor.execute(
                "INSERT INTO usage_rollup_hour (hour, dirty, version, rolled_at) "
                "VALUES (%s, false, 1, clock_timestamp()) ON CONFLICT (hour) DO UPDATE SET dirty = false",
                [hour],
            )
            return True
        _stage_fresh(cursor, hour)
        cumulative.hour_rewritten(cursor, hour)
        cursor.execute("DELETE FROM usage_hourly WHERE hour = %s", [hour])
        cursor.execute("DELETE FROM usage_hourly_brief WHERE hour = %s", [hour])
        cursor.execute(f"INSERT INTO usage_hourly ({_COLUMNS}) SELECT {_COLUMNS} FROM {cumulative.FRESH}")  # noqa: S608
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
        # A writer that re-marked the hour while we worked bumped the version: stay dirty. The
        # time and length of the attempt are kept either way (the rest period counts from them).
        cursor.execute(
            "UPDATE usage_rollup_hour SET dirty = (version <> %s), rolled_at = clock_timestamp(), "
            "took = clock_timestamp() - now() WHERE hour = %s RETURNING dirty",
            [version, hour],
        )
        found = cursor.fetchone()
        return found is not None and not found[0]


def _purged(cursor, hour: datetime) -> bool:
    cursor.execute(f"SELECT purged_before FROM {RetentionState._meta.db_table} WHERE id = 1")
    found = cursor.fetchone()
    return bool(found and found[0] is not None and hour < found[0])


def rollup_dirty(*, limit: int = 500, rest: timedelta | None = None) -> int:
    """Roll up dirty hours, oldest first; return how many were processed. With ``rest``, an
    hour rolled up less than that long ago, or than REST_FACTOR times its last recompute took,
    waits (it stays dirty: pages read its raw rows)."""
    dirty = RollupHour.objects.filter(dirty=True)
    if rest:
        now = timezone.now()
        rested = Q(rolled_at__lt=now - rest) & (
            Q(took__isnull=True) | Q(rolled_at__lt=now - F("took") * REST_FACTOR)
        )  # fmt: skip
        dirty = dirty.filter(Q(rolled_at__isnull=True) | rested)
    hours = list(dirty.order_by("hour").values_list("hour", flat=True)[:limit])
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
            "SELECT moment, EXISTS (SELECT 1 FROM message_request WHERE created_at >= moment "
            "AND created_at < moment + interval '1 hour') FROM generate_series(%s::timestamptz, "
            "%s::timestamptz - interval '1 hour', interval '1 hour') AS moment "
            "WHERE NOT EXISTS (SELECT 1 FROM usage_rollup_hour WHERE hour = moment) ORDER BY moment LIMIT %s",
            [floor_hour(since), floor_hour(until), limit],
        )
        hours = cursor.fetchall()
        # An hour without rows leaves no rollup rows: rolling it up would only give it a clean
        # state, so the quiet ones get theirs in one statement (a fresh database has 800 of them).
        # A writer marks an hour in the transaction of its rows, so an hour that got rows
        # meanwhile has a state already and keeps it (DO NOTHING): it stays dirty.
        cursor.execute(
            "INSERT INTO usage_rollup_hour (hour, dirty, version, rolled_at) "
            "SELECT unnest(%s::timestamptz[]), false, 1, clock_timestamp() ON CONFLICT (hour) DO NOTHING",
            [[hour for hour, has_rows in hours if not has_rows]],
        )
    for hour, has_rows in hours:
        if has_rows:
            rollup_hour(hour)
    return len(hours)
