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
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    from hub import embedded

    urls, _started = embedded.environment_urls()
    os.environ.update(urls)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.production")
    os.environ.setdefault("HTTPS", "0")
    import django

    django.setup()


def session_cookie(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed_get(connection: http.client.HTTPConnection, path: str, cookie: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    size = 0
    while chunk := response.read(1 << 16):
        size += len(chunk)
    return (time.perf_counter() - started) * 1000, response.status, size


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


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
    from urllib.parse import quote

    from django.db import connection

    from hub.models import ApiKey, User
    from providers.models import Provider
    from usage.models import MessageRequest
    from usage.selectors import encode_cursor

    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("pk").first()
    cookie = session_cookie(admin)
    newest = MessageRequest.objects.order_by("-created_at", "-id").first()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT GREATEST(sum(reltuples), 0)::bigint FROM pg_class "
            "WHERE relkind = 'r' AND relname LIKE 'message_request_p%%'"
        )
        total_rows = cursor.fetchone()[0]
    # The row 50,000 newer-to-older: where page 1,000 of 50 starts.
    deep = MessageRequest.objects.order_by("-created_at", "-id")[49_999:50_000].get()
    export_small = MessageRequest.objects.order_by("-created_at", "-id")[99_999:100_000].get()
    export_from = MessageRequest.objects.order_by("-created_at", "-id")[args.export_rows - 1 : args.export_rows].get()
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

    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "gunicorn"), "hub.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "600", "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, "ALLOWED_HOSTS": "127.0.0.1"},
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        worker = int(subprocess.check_output(["pgrep", "-P", str(server.pid)]).split()[0])  # noqa: S603, S607
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        print(f"worker RSS at start: {peak_rss_kb(worker) / 1024:.0f} MB")
        print(f"rows in message_request (estimate): {total_rows:,}; {args.runs} runs per URL after a warm-up")
        print(f"{'what':24s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}  status")
        for name, path in urls.items():
            timed_get(client, path, cookie)
            runs = [timed_get(client, path, cookie) for _ in range(args.runs)]
            times = [run[0] for run in runs]
            p50, p95 = statistics.median(times), percentile(times, 0.95)
            print(f"{name:24s} {p50:8.1f} {p95:8.1f} {max(times):8.1f}  {runs[0][1]}")
        # Peak RSS after a 100k-row export, then after a 1M-row one: flat memory means the second
        # export does not raise the peak by more than its chunking needs.
        for rows, row in ((100_000, export_small), (args.export_rows, export_from)):
            start = quote(row.created_at.isoformat())
            elapsed, status, size = timed_get(client, f"/logs/export.csv?start={start}", cookie)
            print(
                f"CSV export: {rows:,} rows, {size / 1e6:,.0f} MB in {elapsed / 1000:.1f} s = "
                f"{rows / (elapsed / 1000):,.0f} rows/s (HTTP {status}); worker peak RSS so far "
                f"{peak_rss_kb(worker) / 1024:.0f} MB"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
