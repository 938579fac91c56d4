import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from hub.models import ApiKey, hash_key_secret

pytestmark = pytest.mark.django_db


def _stored_text_of_key_table() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(k)::text FROM hub_apikey k")
        return " ".join(row[0] for row in cursor.fetchall())


def test_secret_is_stored_only_as_its_hash(alice, make_key):
    created = make_key(alice)
    stored = _stored_text_of_key_table()
    assert created.secret not in stored
    assert hash_key_secret(created.secret) in stored
    assert created.key.prefix == created.secret[:12]
    assert len(created.secret) > 40


def test_secret_never_reaches_the_logs(client, alice, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(alice)
    response = client.post("/keys/", {"name": "ci", "scope_ingest": "on", "scope_read": "on"})
    secret = response.context["created"].secret
    assert secret in response.content.decode()  # shown once, to its owner
    assert response["Cache-Control"] == "no-store"
    client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert secret not in caplog.text
    assert secret not in client.get("/keys/").content.decode()


def test_key_authenticates_and_records_last_use(client, alice, make_key):
    created = make_key(alice, scope_ingest=False)
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    assert response.status_code == 200
    assert response.json() == {
        "username": "alice",
        "role": "user",
        "key_prefix": created.key.prefix,
        "scopes": ["read"],
    }
    created.key.refresh_from_db()
    assert created.key.last_used_at is not None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"enabled": False}, "disabled"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expired"),
    ],
)
def test_disabled_or_expired_key_gets_401(client, alice, make_key, change, reason):
    created = make_key(alice)
    ApiKey.objects.filter(pk=created.key.pk).update(**change)
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    assert response.status_code == 401
    assert reason in response.json()["detail"]


def test_key_of_a_disabled_user_gets_401(client, alice, make_key):
    created = make_key(alice)
    alice.is_active = False
    alice.save()
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {created.secret}").status_code == 401


def test_unknown_key_gets_401(client, db):
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer uhk_not-a-real-key").status_code == 401
    assert client.get("/api/v1/me").status_code == 401


def test_key_form_refuses_a_key_without_scopes_or_a_past_expiry(client, alice):
    client.force_login(alice)
    response = client.post("/keys/", {"name": "x", "expires_at": "2001-01-01T00:00"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "expires_at" in errors and "__all__" in errors
    assert not ApiKey.objects.exists()
