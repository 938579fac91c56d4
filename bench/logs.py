"""Request-log speed over HTTP (issue: /logs/ p95 < 100 ms at 10M rows, any single filter;
page 1,000 as fast as page 1; detail p95 < 30 ms; CSV export > 50k rows/s, memory flat).

Starts gunicorn (one worker, so its peak RSS is the export's) on a free loopback port
against the configured database, signs in as the first admin with a server-side session,
and times each URL a number of times after one warm-up.

    .venv/bin/python bench/logs.py [--runs 20] [--export-rows 1000000]

Load the data first: ``manage.py demo_data --rows 10000000 --days 90``.
"""

from __future__ import annotations

import argparse
import http.client
from pathlib import Path
from urllib.parse import quote

from _http import gunicorn, session_cookie, setup_django, table_rows, time_urls, timed_get


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    args = parser.parse_args()

    setup_django()
    from hub.models import ApiKey, User
    from providers.models import Provider
    from usage.models import MessageRequest
    from usage.selectors import encode_cursor

    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("pk").first()
    cookie = session_cookie(admin)
    newest = MessageRequest.objects.order_by("-created_at", "-id").first()
    newest_first = MessageRequest.objects.order_by("-created_at", "-id")
    deep = newest_first[49_999:50_000].get()  # where page 1,000 of 50 starts
    export_small = newest_first[99_999:100_000].get()
    export_from = newest_first[args.export_rows - 1 : args.export_rows].get()
    some_key = ApiKey.objects.order_by("pk").first()
    some_provider = Provider.objects.order_by("pk").first()
    urls = {
        "first page, no filter": "/logs/",
        "range=today": "/logs/?range=today",
        "user": f"/logs/?user={newest.user.username}",
        "key": f"/logs/?key={some_key.pk}",
        "provider": f"/logs/?provider={some_provider.pk}",
        "status=429": "/logs/?status=429",
        "status=5xx": "/logs/?status=5xx",
        "model": f"/logs/?model={quote(newest.model)}",
        "endpoint": f"/logs/?endpoint={quote(newest.endpoint)}",
        "session": f"/logs/?session={quote(newest.session_id)}",
        "errors only": "/logs/?errors=true",
        "page 1,000 (cursor)": f"/logs/?after={encode_cursor(deep)}",
        "detail": f"/logs/{newest.pk}/",
    }
    print(f"rows in message_request (estimate): {table_rows():,}; {args.runs} runs per URL after a warm-up")
    with gunicorn() as (port, worker):
        print(f"worker RSS at start: {peak_rss_kb(worker) / 1024:.0f} MB")
        time_urls(port, cookie, urls, args.runs)
        # Peak RSS after a 100k-row export, then after a 1M-row one: flat memory means the second
        # export does not raise the peak by more than its chunking needs.
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for rows, row in ((100_000, export_small), (args.export_rows, export_from)):
            start = quote(row.created_at.isoformat())
            elapsed, status, size = timed_get(client, f"/logs/export.csv?start={start}", cookie)
            print(
                f"CSV export: {rows:,} rows, {size / 1e6:,.0f} MB in {elapsed / 1000:.1f} s = "
                f"{rows / (elapsed / 1000):,.0f} rows/s (HTTP {status}); worker peak RSS so far "
                f"{peak_rss_kb(worker) / 1024:.0f} MB"
            )


if __name__ == "__main__":
    main()
