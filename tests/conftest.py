import itertools
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from hub.models import User
from hub.services import api_key_create
from tests import cache_namespace
from usage import partitions

_test_numbers = itertools.count()


@pytest.fixture
def client():
    """Django's test client, checking every API answer against the OpenAPI document."""
    from tests.openapi import SchemaCheckedClient

    return SchemaCheckedClient()


@pytest.fixture(autouse=True)
def _own_cache_namespace():
    """Each test sees an empty cache without flushing the Redis other runs share."""
    cache_namespace.begin(next(_test_numbers))
    yield


@pytest.fixture
def mid_minute(monkeypatch):
    """The per-minute counters (ingest rate, invalid keys) see one moment, the middle of this
    minute: a test that counts up to a limit never straddles two windows and sees it reset."""
    moment = time.time() // 60 * 60 + 30
    clock = SimpleNamespace(time=lambda: moment, monotonic=time.monotonic)
    monkeypatch.setattr("hub.throttling.time", clock)
    monkeypatch.setattr("hub.authentication.time", clock)


@pytest.fixture(autouse=True)
def _partitions_forgotten():
    # A test's transaction may roll back a partition it created: do not trust memory across tests.
    partitions.forget_known()
    yield
    partitions.forget_known()


@pytest.fixture
def long_retention(db):
    """Sample payloads carry their documentation's dates: keep those inside the retention window."""
    from hub.models import SystemSettings

    settings_row = SystemSettings.get()
    settings_row.log_retention_days = 3650
    settings_row.save()


@pytest.fixture
def make_user(db):
    def make(username: str, *, role: str = User.Role.USER, password: str = "s3cret-pass!", **extra) -> User:
        user = User(username=username, role=role, **extra)
        user.set_password(password)
        user.save()
        return user

    return make


@pytest.fixture
def admin_user(make_user):
    return make_user("root", role=User.Role.ADMIN)


@pytest.fixture
def alice(make_user):
    return make_user("alice", display_name="Alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob", display_name="Bob")


@pytest.fixture
def make_key():
    def make(owner: User, name: str = "key", **options):
        return api_key_create(owner=owner, name=name, **options)

    return make


@pytest.fixture
def make_request_row(db):
    """Store one request row through the one write path (hours marked, signal sent); returns it."""
    from usage.bulk import RequestRow
    from usage.models import MessageRequest
    from usage.services import requests_store

    counter = itertools.count()

    def make(*, user: User, created_at: datetime | None = None, **fields) -> MessageRequest:
        created_at = created_at or datetime.now(UTC)
        values = {
            "request_id": f"req-{next(counter)}-{created_at.timestamp()}", "created_at": created_at,
            "user_id": user.pk, "model": "claude-sonnet-4-5", "original_model": "claude-sonnet-4-5",
            "endpoint": "/v1/messages", "status_code": 200, "input_tokens": 10, "output_tokens": 20,
        }  # fmt: skip
        values.update(fields)
        requests_store([RequestRow(**values)])
        return MessageRequest.objects.get(user_id=user.pk, request_id=values["request_id"], created_at=created_at)

    return make
