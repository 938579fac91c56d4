"""Request-log speed over HTTP (issue: /logs/ p95 < 100 ms at 10M rows, any single filter;
page 1,000 as fast as page 1; detail p95 < 30 ms; CSV export > 50k rows/s, memory flat).

Starts gunicorn (one worker, so its peak RSS is the export's) on a free loopback port
against the configured database, signs in as the first admin (and as the newest row's
user) with server-side sessions, and times each URL over HTTP, body read to the end, a
number of times after one warm-up: first pages unfiltered and with each single filter,
page 1,000 by cursor, detail pages, the API; then two CSV exports (100k rows, then
--export-rows) with the worker's peak RSS (VmHWM) after each: flat memory means the
second, larger export does not raise it.

    .venv/bin/python bench/logs.py [--runs 20] [--export-rows 1000000]

Load the data first: ``manage.py demo_data --rows 10000000 --days 90``.
"""

from __future__ import annotations

import argparse
import http.client
import time
from pathlib import Path
from urllib.parse import quote

from _http import gunicorn, session_cookie, setup_django, table_rows, time_urls


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def timed_export(connection: http.client.HTTPConnection, path: str, cookie: str) -> tuple[float, float, int, int]:
    """(ms to the first 100 kB, about the first 400 rows; ms to the last byte; status; bytes)."""
    started = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    size, first_rows = 0, None
    while chunk := response.read1(1 << 16):
        size += len(chunk)
        if first_rows is None and size >= 100_000:
            first_rows = (time.perf_counter() - started) * 1000
    return first_rows or 0.0, (time.perf_counter() - started) * 1000, response.status, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    args = parser.parse_args()

    setup_django()
    from django.db.models import F

    from hub.models import ApiKey, User
    from usage.models import MessageRequest
    from usage.selectors import encode_cursor

    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("pk").first()
    cookie = session_cookie(admin)
    newest_first = MessageRequest.objects.order_by("-created_at", "-id")
    newest = newest_first.exclude(session_id="").first()
    redirected = newest_first.exclude(original_model="").exclude(original_model=F("model")).first() or newest
    user = newest.user
    deep = newest_first[49_999:50_000].get()  # where page 1,000 of 50 starts
    deep_provider = newest_first.filter(provider_id=newest.provider_id)[49_999:50_000].first() or deep
    old = MessageRequest.objects.order_by("created_at", "id").first()  # the oldest partition's
    export_small = newest_first[99_999:100_000].get()
    export_from = newest_first[args.export_rows - 1 : args.export_rows].get()
    some_key = ApiKey.objects.filter(owner=user).order_by("pk").first() or ApiKey.objects.order_by("pk").first()
    urls = {
        "first page, no filter": "/logs/",
        "range=today": "/logs/?range=today",
        "range=this_month": "/logs/?range=this_month",
        "user": f"/logs/?user={user.username}",
        "key": f"/logs/?key={some_key.pk}",
        "provider": f"/logs/?provider={newest.provider_id}",
        "status=429": "/logs/?status=429",
        "status=5xx": "/logs/?status=5xx",
        "model": f"/logs/?model={quote(newest.model)}",
        "original_model": f"/logs/?original_model={quote(redirected.original_model)}",
        "endpoint": f"/logs/?endpoint={quote(newest.endpoint)}",
        "session": f"/logs/?session={quote(newest.session_id)}",
        "errors only": "/logs/?errors=true",
        "zero tokens": "/logs/?zero_tokens=true",
        "size=100": "/logs/?size=100",
        "page 1,000 (cursor)": f"/logs/?after={encode_cursor(deep)}",
        "page 1,000, provider": f"/logs/?provider={newest.provider_id}&after={encode_cursor(deep_provider)}",
        "API first page": "/api/v1/requests",
        "API page 1,000": f"/api/v1/requests?after={encode_cursor(deep)}",
        "detail": f"/logs/{newest.pk}/",
        "detail, oldest month": f"/logs/{old.pk}/",
        "API detail": f"/api/v1/requests/{newest.pk}",
    }
    user_urls = {
        "as a user: first page": "/logs/",
        "as a user: errors only": "/logs/?errors=true",
        "as a user: model": f"/logs/?model={quote(newest.model)}",
    }
    print(f"rows in message_request (estimate): {table_rows():,}; {args.runs} runs per URL after a warm-up")
    with gunicorn() as (port, worker):
        print(f"worker RSS at start: {peak_rss_kb(worker) / 1024:.0f} MB")
        print(f"as admin {admin.username}:")
        time_urls(port, cookie, urls, args.runs)
        print(f"as user {user.username}:")
        time_urls(port, session_cookie(user), user_urls, args.runs)
        # Peak RSS after a 100k-row export, then after a 1M-row one: flat memory means the second
        # export does not raise the peak by more than its chunking needs.
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for rows, row in ((100_000, export_small), (args.export_rows, export_from)):
            start = quote(row.created_at.isoformat())
            first_byte, elapsed, status, size = timed_export(client, f"/logs/export.csv?start={start}", cookie)
            print(
                f"CSV export: {rows:,} rows, {size / 1e6:,.0f} MB in {elapsed / 1000:.1f} s = "
                f"{rows / (elapsed / 1000):,.0f} rows/s (HTTP {status}, first rows after {first_byte:.0f} ms); "
                f"worker peak RSS so far {peak_rss_kb(worker) / 1024:.0f} MB"
            )


if __name__ == "__main__":
    main()
