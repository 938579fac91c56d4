"""One step of a fault test, run in a child process against a hub of its own.

The parent sets ``HUB_VAR_DIR`` (the test's own var/, so ``hub.embedded`` starts and stops
that var's PostgreSQL and Redis, never the suite's) and, for the Django steps, the
``DATABASE_URL`` / ``REDIS_URL`` those services answer on. Output, when any, is one JSON line.

    python -m tests.faults.hubctl services-start | pg-stop | pg-start | stop
    python -m tests.faults.hubctl template CLIENTS   # start, migrate, an admin, a key per client, stop
    python -m tests.faults.hubctl history HOURS PER_HOUR   # rows over past hours, through the write path
    python -m tests.faults.hubctl enqueue-rollup     # what beat sends every minute
"""

from __future__ import annotations

import json
import os
import sys


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.production")
    os.environ.setdefault("HTTPS", "0")
    import django

    django.setup()


def template(clients: int) -> dict:
    """A database ready to copy: migrated, an admin, one ingest key per client; servers stopped."""
    from hub import embedded

    urls, _started = embedded.environment_urls()
    os.environ.update(urls)
    _django()
    from django.core.management import call_command
    from django.db import connections

    from hub.models import User
    from hub.services import api_key_create

    call_command("migrate", interactive=False, verbosity=0)
    owner = User.objects.create(username="gateway", role=User.Role.ADMIN)
    keys = [api_key_create(owner=owner, name=f"client-{n}", scope_read=False).secret for n in range(clients)]
    connections.close_all()
    embedded.stop(["redis", "postgres"])
    return {"owner_id": owner.pk, "keys": keys}


def history(hours: int, per_hour: int) -> dict:
    """``per_hour`` records in each of the last ``hours`` whole hours, stored the way ingest
    stores them (one call, so one rollup task is enqueued on commit)."""
    from datetime import timedelta

    from django.utils import timezone

    from hub.models import User
    from usage.services import records_ingest

    owner = User.objects.get(username="gateway")
    top = timezone.now().replace(minute=0, second=0, microsecond=0)
    items = [
        {
            "request_id": f"hist-{hour}-{n}",
            "created_at": (top - timedelta(hours=hour, minutes=-(n * 59 // per_hour))).isoformat(),
            "model": ("gpt-5", "claude-sonnet-4-5", "deepseek-chat")[n % 3],
            "status_code": 500 if n % 11 == 0 else 200,
            "input_tokens": 1000 + hour + n,
            "output_tokens": 10 + n,
            "cache_read_tokens": 7 * (n % 5),
            "duration_ms": 100 + 13 * n,
            "session_id": f"hist-s{hour % 4}",
        }
        for hour in range(1, hours + 1)
        for n in range(per_hour)
    ]
    result = records_ingest(owner=owner, items=items)
    return {"stored": len(result.stored), "rejected": [r.as_dict() for r in result.rejected][:3]}


def main(command: str, *args: str) -> None:
    from hub import embedded

    services = {
        "pg-stop": embedded.stop_postgres,
        "pg-start": embedded.start_postgres,
        "stop": lambda: embedded.stop(["redis", "postgres"]),
    }
    if command == "services-start":
        print(json.dumps(embedded.environment_urls()[0]))
    elif command in services:
        services[command]()
    elif command == "template":
        print(json.dumps(template(int(args[0]))))
    elif command == "history":
        _django()
        print(json.dumps(history(int(args[0]), int(args[1]))))
    elif command == "enqueue-rollup":
        _django()
        from usage.tasks import rollups_process

        rollups_process.delay()
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
