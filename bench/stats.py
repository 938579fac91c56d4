"""Dashboard, leaderboard and token statistics over HTTP (issue: p95 < 150 ms each at 10M rows
over 90 days, cost growing with buckets, not rows).

    .venv/bin/python bench/stats.py [--runs 20]

Roll up first (``manage.py rollup_backfill``); the script reports how many hours are dirty.
Closed days come from the cache once a page has read them: the dashboard is also timed with
them forgotten before every request (a first view, a new user, a restarted Redis).
"""

from __future__ import annotations

import argparse

from _http import gunicorn, session_cookie, setup_django, table_rows, time_urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    setup_django()
    from hub.models import User
    from usage.models import RollupHour, UsageHourly, UsageHourlyBrief

    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("pk").first()
    print(f"rows in message_request (estimate): {table_rows():,}; rollup rows: {UsageHourly.objects.count():,} "
          f"fine, {UsageHourlyBrief.objects.count():,} brief; dirty hours: "
          f"{RollupHour.objects.filter(dirty=True).count()}")  # fmt: skip
    urls = {
        "dashboard /": "/",
        "dashboard /, closed days not cached": "/",
        "leaderboard today": "/leaderboard/?period=today",
        "leaderboard month": "/leaderboard/?period=month",
        "leaderboard month, providers": "/leaderboard/?period=month&by=provider",
        "leaderboard month, models": "/leaderboard/?period=month&by=model",
        "tokens 30 days, by day": "/tokens/?period=month",
        "API stats/tokens (month)": "/api/v1/stats/tokens?period=month&bucket=day",
    }
    with gunicorn() as (port, _worker):
        time_urls(port, session_cookie(admin), urls, args.runs,
                  prepare={"dashboard /, closed days not cached": forget_cached_days})  # fmt: skip


def forget_cached_days() -> None:
    """Drop every closed day from the cache (the benchmark's own reach into Redis)."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*:rollup-day:*", count=10_000))
    if keys:
        client.delete(*keys)


if __name__ == "__main__":
    main()
