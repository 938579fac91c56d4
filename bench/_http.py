"""Shared by the HTTP benchmarks: Django set-up, a signed-in session, a gunicorn to time."""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    from hub import embedded

    urls, _started = embedded.environment_urls()
    os.environ.update(urls)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.production")
    os.environ.setdefault("HTTPS", "0")
    import django

    django.setup()


def session_cookie(user) -> str:
    """A server-side session for ``user``, as the login page would make."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


@contextmanager
def gunicorn(workers: int = 1):
    """(port, worker pid) of a gunicorn serving the hub on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "gunicorn"), "hub.wsgi", "--config", "python:hub.gunicorn",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "600", "--log-level", "warning"],
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
        yield port, worker
    finally:
        server.terminate()
        server.wait()


def timed_get(connection: http.client.HTTPConnection, path: str, cookie: str) -> tuple[float, int, int]:
    """(milliseconds, status, bytes) of one GET, body read to the end."""
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


def time_urls(port: int, cookie: str, urls: dict[str, str], runs: int, prepare: dict | None = None) -> None:
    """Print p50/p95/max of each URL over ``runs`` GETs after one warm-up. ``prepare`` maps a
    name to a function called, untimed, before each of that URL's GETs."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    print(f"{'what':36s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}  status")
    for name, path in urls.items():
        before = (prepare or {}).get(name, lambda: None)
        before()
        timed_get(client, path, cookie)
        runs_ = []
        for _ in range(runs):
            before()
            runs_.append(timed_get(client, path, cookie))
        times = [run[0] for run in runs_]
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        print(f"{name:36s} {p50:8.1f} {p95:8.1f} {max(times):8.1f}  {runs_[0][1]}")


def table_rows() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT GREATEST(sum(reltuples), 0)::bigint FROM pg_class "
            "WHERE relkind = 'r' AND relname LIKE 'message_request_p%%'"
        )
        return cursor.fetchone()[0]
