"""What tests that start real servers (gunicorn, the launcher, Prometheus) share: a free port
on 127.0.0.1 and this test run's database as a URL a child process's settings read."""

from __future__ import annotations

import socket
from urllib.parse import quote

from django.db import connection


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on now (the OS's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """This test run's database as a DATABASE_URL, for servers started in child processes."""
    db = connection.settings_dict
    user = quote(db["USER"] or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    # The embedded server's unix socket directory comes through OPTIONS (dj-database-url's ?host=).
    host = db["HOST"] or db.get("OPTIONS", {}).get("host", "")
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{db['NAME']}?host={quote(host, safe='')}"
    return f"postgresql://{user}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
