"""Live sessions over HTTP (issue: /sessions/ and its refresh p95 < 100 ms, a 500-request
session's page p95 < 100 ms, at 10M request rows and 200k sessions of which 1,000 are active;
a refresh reads no request rows; 50 viewers refreshing every 3 s cost the database what one
does).

    .venv/bin/python bench/sessions.py [--runs 30] [--sessions 200000] [--active 1000]

Load the requests first (``manage.py demo_data --rows 10000000 --days 90``). The script tops
the sessions up to --sessions (one old request each, through the write path), makes --active
of them active and one session of 500 requests, then times the pages with the shared list
cache forgotten before each request (every refresh a first one) and with it, and runs 1 and
50 refreshing clients side by side, counting the scans of the sessions and request tables.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

from _http import gunicorn, percentile, session_cookie, setup_django, table_rows


def top_up(target: int, active: int) -> tuple[int, int]:
    """Sessions up to ``target``, ``active`` of them active, and a 500-request session."""
    from hub.models import User
    from sessions_app.models import Session
    from usage.bulk import RequestRow
    from usage.services import requests_store

    users = list(User.objects.filter(is_active=True).values_list("pk", flat=True)[:50])
    now = datetime.now(UTC)
    missing = max(target - Session.objects.count(), 0)
    for start in range(0, missing, 10_000):
        batch = [
            RequestRow(
                request_id=f"bench-s-{now:%s}-{n}",
                user_id=users[n % len(users)],
                session_id=f"bench-old-{now:%s}-{n}",
                created_at=now - timedelta(days=1 + n % 60, minutes=n % 1440),
                model="claude-sonnet-4-5",
                endpoint="/v1/messages",
                status_code=200,
                input_tokens=500,
                output_tokens=100,
            )  # fmt: skip
            for n in range(start, min(start + 10_000, missing))
        ]
        requests_store(batch)
    requests_store(
        [
            RequestRow(
                request_id=f"bench-live-{now:%s}-{n}",
                user_id=users[n % len(users)],
                session_id=f"bench-live-{n}",
                created_at=now - timedelta(seconds=n % 240),
                model="gpt-5",
                endpoint="/v1/responses",
                status_code=200,
                input_tokens=900,
                output_tokens=300,
            )  # fmt: skip
            for n in range(active)
        ]
    )
    long_one = f"bench-long-{now:%s}"
    requests_store(
        [
            RequestRow(
                request_id=f"{long_one}-{n}",
                user_id=users[0],
                session_id=long_one,
                created_at=now - timedelta(hours=3) + timedelta(seconds=20 * n),
                model="claude-sonnet-4-5",
                endpoint="/v1/messages",
                status_code=200 if n % 25 else 429,
                input_tokens=3000,
                output_tokens=400,
                duration_ms=2000 + n,
            )  # fmt: skip
            for n in range(500)
        ]
    )
    return Session.objects.count(), Session.objects.get(session_id=long_one).pk


def timed(connection, path: str, cookie: str, headers: dict | None = None) -> float:
    started = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": cookie, **(headers or {})})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"{path}: HTTP {response.status}")
    return (time.perf_counter() - started) * 1000


def scans() -> dict[str, int]:
    from django.db import connection

    # Other backends (the web worker) report their counts when idle for a second: wait for them,
    # so that one window's scans are not counted in the next.
    time.sleep(11)  # (PostgreSQL flushes an idle backend's counts within 10 s)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT CASE WHEN relname LIKE 'message_request%%' THEN 'message_request' ELSE relname END, "
            "sum(COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0)) FROM pg_stat_user_tables "
            "WHERE relname LIKE 'message_request%%' OR relname = 'sessions_app_session' GROUP BY 1"
        )
        return dict(cursor.fetchall())


def clients(port: int, cookie: str, count: int, seconds: float) -> int:
    """``count`` clients refreshing the list every 3 s for ``seconds``; returns the requests made."""
    made = []

    def run(offset: float) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        time.sleep(offset)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            timed(connection, "/sessions/", cookie, {"X-Refresh": "1"})
            made.append(1)
            time.sleep(3)

    threads = [threading.Thread(target=run, args=(3 * n / count,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(made)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--active", type=int, default=1_000)
    args = parser.parse_args()
    setup_django()
    from django.core.cache import cache

    from hub.models import User

    total, long_pk = top_up(args.sessions, args.active)
    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("pk").first()
    if admin is None:  # demo data makes no admin; make run's bootstrap does
        admin = User.objects.create(username="bench-admin", role=User.Role.ADMIN)
    print(f"rows in message_request (estimate): {table_rows():,}; sessions: {total:,}")
    urls = {
        "/sessions/ (page)": ("/sessions/", {}),
        "/sessions/ refresh call": ("/sessions/", {"X-Refresh": "1"}),
        "/sessions/?active=true": ("/sessions/?active=true", {"X-Refresh": "1"}),
        "/sessions/?model=gpt-5": ("/sessions/?model=gpt-5", {"X-Refresh": "1"}),
        "API /api/v1/sessions": ("/api/v1/sessions", {}),
        "session of 500 requests": (f"/sessions/{long_pk}/", {}),
        "API session of 500 requests": (f"/api/v1/sessions/{long_pk}", {}),
        "dashboard active panel": ("/sessions/active-panel/", {"X-Refresh": "1"}),
    }
    with gunicorn() as (port, _worker):
        cookie = session_cookie(admin)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        print(f"{'what':40s} {'p50 ms':>8s} {'p95 ms':>8s}   (cache forgotten before each)   {'p95 shared':>10s}")
        for name, (path, headers) in urls.items():
            timed(connection, path, cookie, headers)
            cold = []
            for _ in range(args.runs):
                cache.clear()
                cold.append(timed(connection, path, cookie, headers))
            warm = [timed(connection, path, cookie, headers) for _ in range(args.runs)]
            print(f"{name:40s} {statistics.median(cold):8.1f} {percentile(cold, 0.95):8.1f}"
                  f"{'':35s}{percentile(warm, 0.95):10.1f}")  # fmt: skip
        for count in (1, 50):
            cache.clear()
            before = scans()
            made = clients(port, cookie, count, seconds=15)
            after = scans()
            tables = ("sessions_app_session", "message_request")
            delta = {name: after.get(name, 0) - before.get(name, 0) for name in tables}
            print(f"{count:>2} client(s) refreshing every 3 s for 15 s: {made} refreshes; scans of sessions "
                  f"{delta['sessions_app_session']}, of message_request {delta['message_request']}")  # fmt: skip


if __name__ == "__main__":
    main()
