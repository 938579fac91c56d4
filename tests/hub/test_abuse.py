"""Guessing passwords or API keys is throttled: per account and per address for logins (the
admin's too), per address for API keys."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_attempts():
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()
    yield


def fail_login(client, username: str, *, address: str = "10.0.0.1", path: str = "/login/"):
    return client.post(path, {"username": username, "password": "wrong"}, REMOTE_ADDR=address)


@override_settings(AXES_FAILURE_LIMIT=3)
def test_an_account_is_locked_after_repeated_wrong_passwords_even_with_the_right_one(client, alice):
    for _ in range(2):
        assert fail_login(client, "alice").status_code == 200  # the form again, with its error
    locked = fail_login(client, "alice")
    assert locked.status_code == 429 and "Too many failed logins" in locked.content.decode()
    right = client.post("/login/", {"username": "alice", "password": "s3cret-pass!"}, REMOTE_ADDR="10.0.0.9")
    assert right.status_code == 429  # the account is paused whatever the address


@override_settings(AXES_FAILURE_LIMIT=3)
def test_an_address_is_locked_after_failures_across_accounts(client, alice, bob):
    for name in ("alice", "bob", "carol"):
        fail_login(client, name, address="10.0.0.2")
    assert client.post("/login/", {"username": "bob", "password": "s3cret-pass!"},
                       REMOTE_ADDR="10.0.0.2").status_code == 429  # fmt: skip
    # Another address is not affected by this one's guesses.
    assert client.post("/login/", {"username": "bob", "password": "s3cret-pass!"},
                       REMOTE_ADDR="10.0.0.3").status_code == 302  # fmt: skip


@override_settings(AXES_FAILURE_LIMIT=2)
def test_the_admin_login_is_throttled_too(client, admin_user):
    for _ in range(2):
        fail_login(client, admin_user.username, path="/admin/login/")
    assert client.post("/admin/login/", {"username": admin_user.username, "password": "s3cret-pass!"},
                       REMOTE_ADDR="10.0.0.4").status_code == 429  # fmt: skip


@override_settings(INVALID_API_KEYS_PER_MINUTE=5)
def test_repeated_invalid_api_keys_from_one_address_get_429(client, alice, make_key, mid_minute):
    good = make_key(alice, "good")
    for number in range(5):
        answer = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer uhk_guess{number}", REMOTE_ADDR="10.0.1.1")
        assert answer.status_code == 401
    throttled = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {good.secret}", REMOTE_ADDR="10.0.1.1")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) >= 1
    # Another address with a right key is served.
    assert (
        client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {good.secret}", REMOTE_ADDR="10.0.1.2").status_code == 200
    )
