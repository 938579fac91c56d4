"""Faults degrade the hub, never fail it whole (DESIGN decision 9): a Redis that is gone (a real
address where nothing listens) and a database connection the server dropped (as a restart does)."""

import json

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.test import override_settings
from django.utils import timezone

from hub import cache as hub_cache
from usage.models import MessageRequest, RollupHour

DEAD_REDIS = {
    "default": {
        "BACKEND": "hub.cache.ResilientRedisCache",
        "LOCATION": "unix:///nonexistent/hub-test-redis.sock?db=0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
    }
}


@pytest.fixture
def no_redis():
    """The default cache (and the sessions' cache) pointed at an address where no Redis listens."""
    from django.core.cache import caches

    hub_cache._down_until = 0.0
    before = caches["default"]
    with override_settings(CACHES=DEAD_REDIS):
        caches._connections.default = caches.create_connection("default")
        yield
    caches._connections.default = before
    hub_cache._down_until = 0.0


def record(number: int) -> dict:
    return {"request_id": f"fault-{number}", "created_at": timezone.now().isoformat(), "model": "gpt-5",
            "input_tokens": 100, "output_tokens": 10, "session_id": "fault-session"}  # fmt: skip


@pytest.mark.django_db
def test_login_pages_and_ingest_work_without_redis_and_admins_are_told(client, admin_user, make_key, no_redis):
    response = client.post("/login/", {"username": admin_user.username, "password": "s3cret-pass!"})
    assert response.status_code == 302
    for url in ("/", "/logs/", "/sessions/", "/tokens/", "/leaderboard/", "/api/v1/stats/overview"):
        assert client.get(url).status_code == 200, url
    assert "Redis is unreachable" in client.get("/").content.decode()
    key = make_key(admin_user, "gateway")
    body = json.dumps([record(1), record(2)])
    answer = client.post("/api/v1/ingest/records", data=body, content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {key.secret}")  # fmt: skip
    assert answer.status_code == 200 and answer.json()["stored"] == 2
    assert MessageRequest.objects.filter(request_id__startswith="fault-").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_stored_batch_is_answered_200_when_the_broker_is_gone(client, admin_user, make_key):
    from hub.celery import app

    key = make_key(admin_user, "gateway")
    saved = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager, app.conf.broker_url = False, "redis://127.0.0.1:9/0"  # nothing listens there
    app._pool = None
    try:
        answer = client.post("/api/v1/ingest/records", data=json.dumps([record(3)]), content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {key.secret}")  # fmt: skip
    finally:
        app.conf.task_always_eager, app.conf.broker_url = saved
        app._pool = None
        hub_cache._down_until = 0.0
    assert answer.status_code == 200 and answer.json()["stored"] == 1
    stored = MessageRequest.objects.get(request_id="fault-3")
    # Not rolled up yet: the hour waits, marked, for the next sweep.
    assert RollupHour.objects.filter(hour=stored.created_at.replace(minute=0, second=0, microsecond=0), dirty=True)


def test_a_broker_that_just_failed_is_not_tried_again_for_a_few_seconds(monkeypatch):
    """Each try against a Redis that is gone costs its caller ~2 s of kombu's connection retry: during
    a Redis stop every ingest call paid it (tests/faults). Once is enough; the sweep finds the hours."""
    from kombu.exceptions import OperationalError as KombuOperationalError

    from usage import services, tasks

    tries = []

    def broker_gone(*args, **kwargs):
        tries.append(1)
        raise KombuOperationalError("Error 2 connecting to unix socket: No such file or directory.")

    monkeypatch.setattr(tasks.rollups_process, "apply_async", broker_gone)
    hub_cache._down_until = 0.0
    try:
        services._enqueue_rollup()
        assert hub_cache.redis_down() and len(tries) == 1
        services._enqueue_rollup()
        services._enqueue_rollup()
        assert len(tries) == 1
        hub_cache._down_until = 0.0  # a few seconds later: tried again
        services._enqueue_rollup()
        assert len(tries) == 2
    finally:
        hub_cache._down_until = 0.0


def _drop_this_connection() -> None:
    """What a PostgreSQL restart does to a web process: the server closes its connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    settings = connection.get_connection_params()
    with psycopg.connect(**{**settings, "autocommit": True}) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.django_db(transaction=True)
def test_a_dropped_database_connection_is_a_503_then_the_next_call_works(client, admin_user, make_key):
    key = make_key(admin_user, "reader", scope_ingest=False, scope_read=True)
    client.raise_request_exception = False
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key.secret}"}
    assert client.get("/api/v1/requests", **auth).status_code == 200
    _drop_this_connection()
    api = client.get("/api/v1/requests", **auth)
    assert api.status_code == 503 and api["Retry-After"] and "retry" in api.json()["detail"]
    close_old_connections()  # what the end of every real request does (the test client skips it)
    assert client.get("/api/v1/requests", **auth).status_code == 200  # a fresh connection
    client.force_login(admin_user)
    _drop_this_connection()
    page = client.get("/logs/")
    assert page.status_code == 503 and "Try again in a moment" in page.content.decode()
    close_old_connections()
    assert client.get("/logs/").status_code == 200
