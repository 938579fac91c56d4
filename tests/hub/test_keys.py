import logging
import re
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
    response = client.post("/keys/", {"name": "ci", "scope_ingest": "on", "scope_read": "on"}, follow=True)
    secret = response.context["created"]["secret"]
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


def test_creating_a_key_redirects_so_a_reload_neither_repeats_it_nor_shows_the_secret_again(client, alice):
    client.force_login(alice)
    response = client.post("/keys/", {"name": "ci", "scope_ingest": "on", "scope_read": "on"})
    assert response.status_code == 302 and response["Location"] == "/keys/"
    shown = client.get("/keys/")
    secret = shown.context["created"]["secret"]
    assert secret.startswith("uhk_") and secret in shown.content.decode()
    assert shown["Cache-Control"] == "no-store"
    again = client.get("/keys/")  # the reload after the redirect: a GET, nothing created, nothing shown
    assert again.context["created"] is None and secret not in again.content.decode()
    assert ApiKey.objects.filter(owner=alice).count() == 1
    assert ApiKey.objects.get(owner=alice).secret_hash == hash_key_secret(secret)


def test_a_refused_key_form_is_shown_again_without_creating_anything(client, alice):
    client.force_login(alice)
    response = client.post("/keys/", {"name": "ci"})  # no scope
    assert response.status_code == 200
    assert "A key needs at least one scope." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_an_admin_chooses_the_owner_of_a_new_key(client, admin_user, alice):
    client.force_login(admin_user)
    page = client.get("/keys/").content.decode()
    assert 'name="owner"' in page
    client.post("/keys/", {"owner": alice.pk, "name": "alice-ci", "scope_read": "on"})
    assert ApiKey.objects.get(name="alice-ci").owner == alice
    client.post("/keys/", {"name": "gateway", "scope_ingest": "on"})  # the default owner: the admin
    assert ApiKey.objects.get(name="gateway").owner == admin_user


def test_a_user_cannot_create_a_key_for_someone_else(client, alice, bob):
    client.force_login(alice)
    assert 'name="owner"' not in client.get("/keys/").content.decode()
    client.post("/keys/", {"owner": bob.pk, "name": "sneaky", "scope_read": "on"})
    assert ApiKey.objects.get(name="sneaky").owner == alice


def test_every_description_the_key_form_points_to_exists(client, alice):
    client.force_login(alice)
    page = client.post("/keys/", {"name": "", "expires_at": "2000-01-01T00:00"}).content.decode()
    described = set(re.findall(r'aria-describedby="([^"]+)"', page))
    assert described, "the form's inputs name their help and error texts"
    for ids in described:
        for element_id in ids.split():
            assert f'id="{element_id}"' in page, element_id


def test_each_keys_button_names_its_key_and_every_column_has_a_header(client, alice, make_key):
    make_key(alice, "laptop")
    make_key(alice, "ci")
    client.force_login(alice)
    page = client.get("/keys/").content.decode()
    assert '<th scope="col"></th>' not in page
    assert 'Disable <span class="visually-hidden">key “laptop”</span>' in page
    assert 'Disable <span class="visually-hidden">key “ci”</span>' in page


def test_every_form_that_changes_something_answers_with_a_redirect(client, alice, make_key):
    """Post/redirect/get: a reload after any of them repeats a GET, never the change."""
    key = make_key(alice, "laptop").key
    client.force_login(alice)
    posts = [
        ("/keys/", {"name": "ci", "scope_read": "on"}),
        (f"/keys/{key.pk}/toggle/", {}),
        ("/i18n/setlang/", {"language": "zh-hans", "next": "/keys/"}),
        ("/logout/", {}),
    ]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 302, url


def test_thousands_of_keys_come_a_page_at_a_time(client, admin_user, alice):
    from hub.models import ApiKey
    from hub.views import KEYS_PER_PAGE

    ApiKey.objects.bulk_create([
        ApiKey(name=f"gw-{n:03d}", owner=alice, prefix=f"uhk_p{n:07d}", secret_hash=f"h{n}")
        for n in range(KEYS_PER_PAGE + 7)
    ])  # fmt: skip
    client.force_login(admin_user)
    first = client.get("/keys/").content.decode()
    assert first.count("<code>uhk_p") == KEYS_PER_PAGE and "gw-000" in first and "Page 1 of 2" in first
    last = client.get("/keys/?page=2").content.decode()
    assert last.count("<code>uhk_p") == 7 and "gw-056" in last and "gw-000" not in last
    for odd in ("0", "999", "two", "-1"):  # any page number answers a page, never an error
        assert client.get("/keys/", {"page": odd}).status_code == 200


def test_with_hundreds_of_users_an_admin_types_the_new_keys_owner(client, admin_user, alice):
    from hub.forms import CHOICES_LIMIT
    from hub.models import User

    User.objects.bulk_create([User(username=f"member-{n:03d}") for n in range(CHOICES_LIMIT)])
    client.force_login(admin_user)
    page = client.get("/keys/").content.decode()
    assert '<select name="owner"' not in page and f'value="{admin_user.username}"' in page
    client.post("/keys/", {"owner": "alice", "name": "for alice", "scope_ingest": "on"})
    assert ApiKey.objects.get(name="for alice").owner == alice
