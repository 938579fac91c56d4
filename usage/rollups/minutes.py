"""Minute rollups for the providers' availability: marked, recomputed and dropped like hours.

Writers mark the UTC minutes of the rows they write (``mark_minutes``, in the rows' own
transaction, only minutes still inside ``KEEP``: older ones are never charted). A recompute
takes one hour's dirty minutes under an advisory lock on that hour, rewrites their
``usage_minute`` rows from raw rows, derives the hour's ``usage_health`` rows (1, 5, 15 and
60-minute buckets per provider) from its minute rows and its UTC day's row from the day's
hours, stores each bucket's p95, and clears each mark only if nobody re-marked the minute
meanwhile. So repeated, concurrent or interrupted runs leave the same rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache

from django.db import connection, transaction

from usage.definitions import error_kind_sql
from usage.models import RollupMinute
from usage.rollups import latency, marks
from usage.rollups.latency import bounds_sql
from usage.rollups.shape import HOUR, floor_hour

logger = logging.getLogger(__name__)
MINUTE = timedelta(minutes=1)
#: the longest availability window (7 days) plus a margin: older minutes are dropped
KEEP = timedelta(days=8)
#: the bucket sizes (minutes) the availability windows chart; each divides an hour
SPANS = (1, 5, 15, 60)
#: a UTC day: whole days of a long window are summed from one row per provider
DAY_SPAN = 1440
#: every level ``usage_health`` keeps, coarsest first
LEVELS = (DAY_SPAN, *reversed(SPANS))
DAY = timedelta(days=1)
_LOCK_NAMESPACE = 0x6D696E75  # "minu": pg_advisory_xact_lock(namespace, hour)
_DAY_LOCK_NAMESPACE = 0x6461796D  # "daym": pg_advisory_xact_lock(namespace, day)


def floor_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _horizon(now: datetime | None = None) -> datetime:
    return floor_hour((now or datetime.now(UTC)) - KEEP)


def mark_minutes(moments: Iterable[datetime], *, now: datetime | None = None) -> None:
    """Mark the minutes of ``moments`` dirty (those still kept). Call inside the transaction
    that writes their rows."""
    marks.mark(RollupMinute, moments, since=_horizon(now))


def mark_minute_range(start: datetime, end: datetime, *, now: datetime | None = None) -> None:
    """Mark every minute from start's to end's still kept (a backfill)."""
    marks.mark_series(RollupMinute, max(start, _horizon(now)), end)


def _histogram(column: str, source: str, keys: str) -> str:
    """Sparse histogram (ascending buckets, counts) of ``column`` per ``keys`` over ``source``."""
    return f"""
        SELECT {keys}, array_agg(bucket ORDER BY bucket) AS buckets, array_agg(n ORDER BY bucket) AS counts
        FROM (SELECT {keys}, (width_bucket({column}, {bounds_sql()}) - 1)::smallint AS bucket, count(*) AS n
              FROM {source} WHERE {column} IS NOT NULL GROUP BY {keys}, bucket) AS cells
        GROUP BY {keys}"""


_MINUTE_KEYS = "minute, provider_id, model, status_code, error_kind"


@cache
def _minutes_sql() -> str:
    """usage_minute rows of the minutes in %(minutes)s, read from raw rows in %(ranges)s."""
    return f"""
WITH raw AS (
    SELECT date_trunc('minute', created_at) AS minute, provider_id, model,
           COALESCE(status_code, 0) AS status_code,
           CASE WHEN status_code IS NULL THEN {error_kind_sql()} ELSE '' END AS error_kind,
           duration_ms, ttft_ms
    FROM message_request
    WHERE created_at >= %(start)s AND created_at < %(end)s AND deleted_at IS NULL AND provider_id IS NOT NULL
      AND date_trunc('minute', created_at) = ANY(%(minutes)s::timestamptz[])
), sums AS (
    SELECT {_MINUTE_KEYS}, count(*) AS requests,
           COALESCE(sum(duration_ms), 0) AS duration_sum, count(duration_ms) AS duration_count,
           COALESCE(sum(ttft_ms), 0) AS ttft_sum, count(ttft_ms) AS ttft_count
    FROM raw GROUP BY {_MINUTE_KEYS}
), durations AS ({_histogram("duration_ms", "raw", _MINUTE_KEYS)}
), ttfts AS ({_histogram("ttft_ms", "raw", _MINUTE_KEYS)})
INSERT INTO usage_minute ({_MINUTE_KEYS}, requests, duration_sum, duration_count, ttft_sum, ttft_count,
                          duration_buckets, duration_counts, ttft_buckets, ttft_counts)
SELECT {_MINUTE_KEYS}, requests, duration_sum, duration_count, ttft_sum, ttft_count,
       COALESCE(durations.buckets, '{{}}'), COALESCE(durations.counts, '{{}}'),
       COALESCE(ttfts.buckets, '{{}}'), COALESCE(ttfts.counts, '{{}}')
FROM sums LEFT JOIN durations USING ({_MINUTE_KEYS}) LEFT JOIN ttfts USING ({_MINUTE_KEYS})
"""


def _unnested(buckets: str, counts: str) -> str:
    """One hour's minute rows, bucketed by span, one row per latency bucket (for the histograms)."""
    return f"""
        SELECT span, date_bin(span * interval '1 minute', minute, %(hour)s) AS start, provider_id, bucket, n
        FROM usage_minute CROSS JOIN unnest(%(spans)s::int[]) AS span
             CROSS JOIN unnest({buckets}, {counts}) AS cell(bucket, n)
        WHERE minute >= %(hour)s AND minute < %(next)s"""


_HEALTH_KEYS = "span, start, provider_id"


@cache
def _health_sql() -> str:
    """usage_health rows of the hour %(hour)s, summed from its usage_minute rows."""
    return f"""
WITH spans AS (
    SELECT span, date_bin(span * interval '1 minute', minute, %(hour)s) AS start, provider_id,
           status_code, error_kind, requests, duration_sum, duration_count, ttft_sum, ttft_count
    FROM usage_minute CROSS JOIN unnest(%(spans)s::int[]) AS span
    WHERE minute >= %(hour)s AND minute < %(next)s
), per_status AS (
    SELECT {_HEALTH_KEYS}, CASE WHEN status_code = 0 THEN '0:' || error_kind ELSE status_code::text END AS status,
           bool_or(status_code >= 200 AND status_code < 400) AS available, sum(requests) AS requests,
           sum(duration_sum) AS duration_sum, sum(duration_count) AS duration_count,
           sum(ttft_sum) AS ttft_sum, sum(ttft_count) AS ttft_count
    FROM spans GROUP BY {_HEALTH_KEYS}, status
), sums AS (
    SELECT {_HEALTH_KEYS}, sum(requests) AS requests, COALESCE(sum(requests) FILTER (WHERE available), 0) AS successes,
           jsonb_object_agg(status, requests) AS statuses,
           sum(duration_sum) AS duration_sum, sum(duration_count) AS duration_count,
           sum(ttft_sum) AS ttft_sum, sum(ttft_count) AS ttft_count
    FROM per_status GROUP BY {_HEALTH_KEYS}
), durations AS (
    SELECT {_HEALTH_KEYS}, array_agg(bucket ORDER BY bucket) AS buckets, array_agg(n ORDER BY bucket) AS counts
    FROM (SELECT {_HEALTH_KEYS}, bucket, sum(n) AS n FROM ({_unnested("duration_buckets", "duration_counts")}) AS d
          GROUP BY {_HEALTH_KEYS}, bucket) AS cells GROUP BY {_HEALTH_KEYS}
), ttfts AS (
    SELECT {_HEALTH_KEYS}, array_agg(bucket ORDER BY bucket) AS buckets, array_agg(n ORDER BY bucket) AS counts
    FROM (SELECT {_HEALTH_KEYS}, bucket, sum(n) AS n FROM ({_unnested("ttft_buckets", "ttft_counts")}) AS t
          GROUP BY {_HEALTH_KEYS}, bucket) AS cells GROUP BY {_HEALTH_KEYS}
)
INSERT INTO usage_health ({_HEALTH_KEYS}, requests, successes, statuses, duration_sum, duration_count, ttft_sum,
                          ttft_count, duration_buckets, duration_counts, ttft_buckets, ttft_counts)
SELECT {_HEALTH_KEYS}, requests, successes, statuses, duration_sum, duration_count, ttft_sum, ttft_count,
       COALESCE(durations.buckets, '{{}}'), COALESCE(durations.counts, '{{}}'),
       COALESCE(ttfts.buckets, '{{}}'), COALESCE(ttfts.counts, '{{}}')
FROM sums LEFT JOIN durations USING ({_HEALTH_KEYS}) LEFT JOIN ttfts USING ({_HEALTH_KEYS})
"""


def _merged_histogram(column: str) -> str:
    return f"""
        SELECT provider_id, array_agg(bucket ORDER BY bucket) AS buckets, array_agg(n ORDER BY bucket) AS counts
        FROM (SELECT provider_id, bucket, sum(n) AS n
              FROM usage_health CROSS JOIN unnest({column}_buckets, {column}_counts) AS cell(bucket, n)
              WHERE span = 60 AND start >= %(day)s AND start < %(next)s GROUP BY provider_id, bucket) AS cells
        GROUP BY provider_id"""


# A UTC day per provider, summed from its hours' rows.
_DAY_SQL = f"""
WITH hours AS (
    SELECT * FROM usage_health WHERE span = 60 AND start >= %(day)s AND start < %(next)s
), statuses AS (
    SELECT provider_id, jsonb_object_agg(status, n) AS statuses
    FROM (SELECT provider_id, status, sum(n::bigint) AS n
          FROM hours CROSS JOIN jsonb_each_text(statuses) AS s(status, n) GROUP BY provider_id, status) AS per_status
    GROUP BY provider_id
), sums AS (
    SELECT provider_id, sum(requests) AS requests, sum(successes) AS successes, sum(duration_sum) AS duration_sum,
           sum(duration_count) AS duration_count, sum(ttft_sum) AS ttft_sum, sum(ttft_count) AS ttft_count
    FROM hours GROUP BY provider_id
), durations AS ({_merged_histogram("duration")}
), ttfts AS ({_merged_histogram("ttft")})
INSERT INTO usage_health (span, start, provider_id, requests, successes, statuses, duration_sum, duration_count,
                          ttft_sum, ttft_count, duration_buckets, duration_counts, ttft_buckets, ttft_counts)
SELECT {DAY_SPAN}, %(day)s, provider_id, requests, successes, statuses, duration_sum, duration_count, ttft_sum,
       ttft_count, COALESCE(durations.buckets, '{{}}'), COALESCE(durations.counts, '{{}}'),
       COALESCE(ttfts.buckets, '{{}}'), COALESCE(ttfts.counts, '{{}}')
FROM sums JOIN statuses USING (provider_id) LEFT JOIN durations USING (provider_id) LEFT JOIN ttfts USING (provider_id)
"""


def _store_p95(cursor, start: datetime, end: datetime, *, day: bool) -> None:
    """Each bucket's p95 response time, from its histogram: a chart point reads one number."""
    cursor.execute(
        "SELECT id, duration_buckets, duration_counts FROM usage_health "
        f"WHERE start >= %s AND start < %s AND duration_count > 0 AND span {'=' if day else '<'} %s",
        [start, end, DAY_SPAN],
    )
    found = [(pk, latency.percentiles(latency.merge(((buckets, counts),)), (0.95,))[0])
             for pk, buckets, counts in cursor.fetchall()]  # fmt: skip
    if found:
        cursor.execute(
            "UPDATE usage_health SET duration_p95 = value FROM unnest(%s::bigint[], %s::float8[]) AS p95(pk, value) "
            "WHERE id = pk",
            [[pk for pk, _value in found], [value for _pk, value in found]],
        )


def rollup_minutes(hour: datetime, minutes: Iterable[datetime] | None = None) -> int:
    """Rewrite the given minutes of ``hour`` (default: its dirty ones) from raw rows, then the
    hour's availability buckets and its day's; return how many minutes end clean."""
    hour = floor_hour(hour)
    following = hour + HOUR
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, int(hour.timestamp() // 3600)])
        if minutes is None:
            cursor.execute(
                "SELECT minute, version FROM usage_rollup_minute WHERE minute >= %s AND minute < %s AND dirty",
                [hour, following],
            )
        else:
            cursor.execute(
                "SELECT moment, version FROM unnest(%s::timestamptz[]) AS moment "
                "LEFT JOIN usage_rollup_minute ON minute = moment",
                [sorted({floor_minute(moment) for moment in minutes})],
            )
        versions = {minute: version for minute, version in cursor.fetchall() if hour <= minute < following}
        if not versions:
            return 0
        chosen = sorted(versions)
        cursor.execute("DELETE FROM usage_minute WHERE minute = ANY(%s::timestamptz[])", [chosen])
        cursor.execute(_minutes_sql(), {"start": chosen[0], "end": chosen[-1] + MINUTE, "minutes": chosen})
        cursor.execute(
            "DELETE FROM usage_health WHERE start >= %s AND start < %s AND span < %s", [hour, following, DAY_SPAN]
        )
        cursor.execute(_health_sql(), {"hour": hour, "next": following, "spans": list(SPANS)})
        _store_p95(cursor, hour, following, day=False)
        # The day's row is rebuilt by whichever hour of it changed last: a lock per day keeps two
        # hours of one day from writing it at once (hour lock, then day lock: always that order).
        day = hour.replace(hour=0)
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_DAY_LOCK_NAMESPACE, int(day.timestamp() // 86400)])
        cursor.execute("DELETE FROM usage_health WHERE start = %s AND span = %s", [day, DAY_SPAN])
        cursor.execute(_DAY_SQL, {"day": day, "next": day + DAY})
        _store_p95(cursor, day, day + MINUTE, day=True)
        # Minutes a writer re-marked while we worked bumped their version: they stay dirty. A
        # minute without a state reads as version 0, which no writer's mark ever has.
        cursor.execute(
            """
            INSERT INTO usage_rollup_minute AS state (minute, dirty, version, rolled_at)
            SELECT moment, false, COALESCE(version, 0), clock_timestamp()
            FROM unnest(%s::timestamptz[], %s::bigint[]) AS chosen(moment, version)
            ON CONFLICT (minute) DO UPDATE SET dirty = false, rolled_at = excluded.rolled_at
            WHERE state.version = excluded.version
            """,
            [chosen, [versions[minute] for minute in chosen]],
        )
        return cursor.rowcount


def rollup_dirty_minutes(*, limit: int = 200) -> int:
    """Recompute the hours that hold dirty minutes, oldest first; return how many minutes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT date_trunc('hour', minute) AS hour FROM usage_rollup_minute WHERE dirty "
            "ORDER BY hour LIMIT %s",
            [limit],
        )
        hours = [row[0] for row in cursor.fetchall()]
    done = sum(rollup_minutes(hour) for hour in hours)
    if hours:
        logger.info("rolled up %d minutes in %d hours (%s .. %s)", done, len(hours), hours[0], hours[-1])
    return done


def drop_old_minutes(now: datetime | None = None) -> int:
    """Drop the minute rollups and states older than ``KEEP``: whole hours, so every hour kept
    has all its buckets. The hourly rollups keep the history."""
    horizon = _horizon(now)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM usage_minute WHERE minute < %s", [horizon])
        dropped = cursor.rowcount
        cursor.execute("DELETE FROM usage_health WHERE start < %s", [horizon])
        cursor.execute("DELETE FROM usage_rollup_minute WHERE minute < %s", [horizon])
    return dropped
