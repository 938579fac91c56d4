"""Health endpoints for load balancers and compose: plain views, outside the API and its schema.

``/healthz`` answers 200 whenever the process serves requests (liveness: nothing else is
checked, so a database outage does not get every web process restarted). ``/readyz`` answers
200 only when the database and Redis answer and every migration is applied, else 503 naming
what failed (readiness: take this process out of rotation until then).
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

_migrated = False  # once all migrations are applied, they stay applied for this process's code


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok\n", content_type="text/plain")


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return f"unreachable: {type(error).__name__}"
    return "ok"


def _migrations() -> str:
    global _migrated
    if not _migrated:
        try:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as error:
            return f"unknown: {type(error).__name__}"
        if pending:
            return f"{len(pending)} pending"
        _migrated = True
    return "ok"


def _ping_redis() -> None:
    cache._cache.get_client(write=True).ping()


def _redis() -> str:
    try:
        _ping_redis()
    except Exception as error:  # redis-py raises its own errors, not Django's
        return f"unreachable: {type(error).__name__}"
    return "ok"


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database(), "migrations": _migrations(), "redis": _redis()}
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"ready": ready, **checks}, status=200 if ready else 503)
