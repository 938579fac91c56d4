"""Provider availability (issue 12: at 10M rows, the 7-day page and API p95 < 150 ms, the 1-hour
view p95 < 50 ms), timed beside the peer approach: percentiles with ``percentile_cont`` over
raw rows per bucket for the same window.

    .venv/bin/python bench/availability.py [--runs 20]

Roll up first (``manage.py rollup_backfill``). Three parts:

1. the page and the API over HTTP, with the figures computed on every request (the few
   seconds' cache forgotten before each GET: what the first viewer of a minute pays), then
   as the other viewers of that minute get them (cached);
2. in one process, the selector (minute buckets) against the peer query (raw rows), for
   each window: the same figures per provider and bucket, p50/p95 and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _http import gunicorn, percentile, session_cookie, setup_django, table_rows, time_urls

# The peer approach: every figure from raw rows, per provider and bucket, then per provider.
PEER_SQL = """
WITH raw AS (
    SELECT provider_id, date_bin(%(step)s::interval, created_at, %(start)s) AS bucket, status_code, duration_ms,
           ttft_ms
    FROM message_request
    WHERE created_at >= %(start)s AND created_at < %(end)s AND deleted_at IS NULL AND provider_id IS NOT NULL
)
SELECT provider_id, bucket, count(*), count(*) FILTER (WHERE status_code >= 200 AND status_code < 400),
       avg(duration_ms), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms),
       avg(ttft_ms), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ttft_ms)
FROM raw GROUP BY GROUPING SETS ((provider_id, bucket), (provider_id))
"""


def forget_figures() -> None:
    """Drop the availability figures from the cache (the benchmark's own reach into Redis)."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*:availability:*", count=10_000))
    if keys:
        client.delete(*keys)


def fill_recent(hours: int) -> None:
    """Copy the rows of [now - 1 day - hours, now - 1 day) a day later, then roll them up."""
    from datetime import timedelta

    from django.utils import timezone

    from usage import rollups
    from usage.bulk import RequestRow
    from usage.models import MessageRequest
    from usage.rollups.minutes import rollup_dirty_minutes
    from usage.services import requests_store

    now = timezone.now()
    day = timedelta(days=1)
    source = MessageRequest.objects.filter(created_at__gte=now - day - timedelta(hours=hours), created_at__lt=now - day)
    fields = [name for name in RequestRow._fields if name not in ("request_id", "created_at")]
    rows = [
        RequestRow(**{**{name: values[name] for name in fields}, "request_id": f"{values['request_id']}+1d",
                      "created_at": values["created_at"] + day})
        for values in source.values("request_id", "created_at", *fields).iterator(chunk_size=10_000)
    ]  # fmt: skip
    started = time.perf_counter()
    stored = sum(len(requests_store(rows[i : i + 1000])) for i in range(0, len(rows), 1000))
    elapsed = time.perf_counter() - started
    print(f"filled the last {hours} h: {stored:,} rows stored in batches of 1,000 through the write path, "
          f"{stored / elapsed:,.0f} rows/s")  # fmt: skip
    rollups.rollup_dirty()
    rollup_dirty_minutes(limit=1_000)


def timed(function, runs: int) -> list[float]:
    function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fill-recent", type=int, default=0, metavar="HOURS",
                        help="first copy the traffic of the same hours a day earlier into the last HOURS (through "
                             "the write path), so the short windows have demo data's density up to now")  # fmt: skip
    args = parser.parse_args()
    setup_django()
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from hub.models import User
    from stats import availability
    from usage.models import RollupMinute, UsageHealth, UsageMinute
    from usage.rollups.minutes import floor_minute

    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("pk").first()
    if admin is None:
        admin = User.objects.create(username="bench-admin", role=User.Role.ADMIN)
    if args.fill_recent:
        fill_recent(args.fill_recent)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM message_request WHERE created_at >= %s", [now - timedelta(days=7)])
        last_week = cursor.fetchone()[0]
    print(f"rows in message_request (estimate): {table_rows():,}; in the last 7 days: {last_week:,}; "
          f"minute rows: {UsageMinute.objects.count():,}; health rows: {UsageHealth.objects.count():,}; "
          f"dirty minutes: {RollupMinute.objects.filter(dirty=True).count()}")  # fmt: skip

    print("\nover HTTP, figures computed on every request (cache forgotten before each GET):")
    computed = {f"page /availability/ {name}": f"/availability/?window={name}" for name in availability.WINDOWS}
    computed |= {f"API window={name}": f"/api/v1/providers/availability?window={name}" for name in ("1h", "7d")}
    cached = {f"{name}, cached": path for name, path in computed.items() if "7d" in name or "1h" in name}
    with gunicorn() as (port, _worker):
        cookie = session_cookie(admin)
        time_urls(port, cookie, computed, args.runs, prepare=dict.fromkeys(computed, forget_figures))
        print("\nover HTTP, as every other viewer of the same minute gets them (cached):")
        time_urls(port, cookie, cached, args.runs)

    print("\nin one process: minute buckets (selector, uncached) against percentile_cont over raw rows")
    print(f"{'window':8s} {'buckets p50':>12s} {'p95 ms':>8s} {'raw p50':>10s} {'p95 ms':>8s} {'ratio p95':>10s}")
    for name, window in availability.WINDOWS.items():
        end = floor_minute(timezone.now())

        def buckets(window=window, end=end):
            availability._compute(window, None, end)

        def peer(window=window, end=end):
            with connection.cursor() as cursor:
                cursor.execute(PEER_SQL, {"step": timedelta(minutes=window.bucket_minutes),
                                          "start": end - window.length, "end": end})  # fmt: skip
                cursor.fetchall()

        ours, theirs = timed(buckets, args.runs), timed(peer, max(3, args.runs // 4))
        ours_p95, theirs_p95 = percentile(ours, 0.95), percentile(theirs, 0.95)
        print(f"{name:8s} {statistics.median(ours):12.1f} {ours_p95:8.1f} {statistics.median(theirs):10.1f} "
              f"{theirs_p95:8.1f} {theirs_p95 / ours_p95:9.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
