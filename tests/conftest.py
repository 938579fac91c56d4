import itertools
import os
from datetime import UTC, datetime

import pytest
from django.core.cache import cache

from hub.models import User
from hub.services import api_key_create
from usage import partitions

_test_numbers = itertools.count()


@pytest.fixture(autouse=True)
def _own_cache_namespace():
    """Each test sees an empty cache without flushing the Redis other runs share."""
    cache.key_prefix = f"test-{os.getpid()}-{next(_test_numbers)}"
    yield


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
    """Store one request row through the bulk write path; returns its MessageRequest."""
    from usage import bulk
    from usage.models import MessageRequest

    counter = itertools.count()

    def make(*, user: User, created_at: datetime | None = None, **fields) -> MessageRequest:
        created_at = created_at or datetime.now(UTC)
        values = {name: None for name in bulk.COLUMNS}
        values.update(
            request_id=f"req-{next(counter)}-{created_at.timestamp()}",
            created_at=created_at, user_id=user.pk, model="claude-sonnet-4-5", original_model="claude-sonnet-4-5",
            endpoint="/v1/messages", status_code=200, is_stream=False, input_tokens=10, output_tokens=20,
            cache_creation_tokens=0, cache_creation_5m_tokens=0, cache_creation_1h_tokens=0, cache_read_tokens=0,
            reasoning_tokens=0, cost_multiplier=1, price_missing=False, session_id="", user_agent="", blocked_by="",
            blocked_reason="",
            error_message="",
        )  # fmt: skip
        values.update(fields)
        partitions.ensure_partitions([created_at])
        bulk.copy_requests([tuple(values[name] for name in bulk.COLUMNS)])
        return MessageRequest.objects.get(request_id=values["request_id"], created_at=created_at)

    return make
