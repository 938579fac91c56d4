import pytest
from django.urls import reverse

from hub.models import ApiKey, SystemSettings, hash_key_secret

pytestmark = pytest.mark.django_db

MODELS = [
    ("hub", "user"),
    ("hub", "apikey"),
    ("providers", "provider"),
    ("providers", "modelprice"),
    ("usage", "messagerequest"),
]


@pytest.mark.parametrize(("app", "model"), MODELS)
def test_every_admin_list_loads_and_searches(admin_client, app, model, make_request_row, admin_user):
    make_request_row(user=admin_user, session_id="s-1")
    url = reverse(f"admin:{app}_{model}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "s-1"}).status_code == 200


@pytest.mark.parametrize(
    ("app", "model"),
    [("hub", "user"), ("hub", "apikey"), ("providers", "provider"), ("providers", "modelprice")],
)
def test_admin_add_pages_load(admin_client, app, model):
    assert admin_client.get(reverse(f"admin:{app}_{model}_add")).status_code == 200


def test_request_change_page_is_read_only(admin_client, admin_user, make_request_row):
    row = make_request_row(user=admin_user)
    response = admin_client.get(reverse("admin:usage_messagerequest_change", args=[row.pk]))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content


def test_users_cannot_open_the_admin(client, alice):
    client.force_login(alice)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302


def test_admin_creates_a_key_and_sees_the_secret_once(admin_client, alice):
    response = admin_client.post(
        reverse("admin:hub_apikey_add"),
        {"name": "gateway", "owner": alice.pk, "enabled": "on", "scope_ingest": "on", "scope_read": "on"},
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(name="gateway")
    secret = response.context["secret"]
    assert hash_key_secret(secret) == key.secret_hash
    assert secret in response.content.decode()
    change_page = admin_client.get(reverse("admin:hub_apikey_change", args=[key.pk])).content.decode()
    assert secret not in change_page and key.prefix in change_page


def test_admin_disables_a_key_and_a_user(admin_client, alice, make_key):
    key = make_key(alice).key
    admin_client.post(reverse("admin:hub_apikey_changelist"), {"action": "disable_keys", "_selected_action": [key.pk]})
    admin_client.post(reverse("admin:hub_user_changelist"), {"action": "disable_users", "_selected_action": [alice.pk]})
    key.refresh_from_db()
    alice.refresh_from_db()
    assert not key.enabled and not alice.is_active


def test_user_with_history_cannot_be_deleted_only_disabled(admin_client, alice, make_request_row):
    make_request_row(user=alice)
    response = admin_client.get(reverse("admin:hub_user_delete", args=[alice.pk]))
    assert response.status_code == 403


def test_system_settings_list_goes_straight_to_the_one_row(admin_client):
    response = admin_client.get(reverse("admin:hub_systemsettings_changelist"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:hub_systemsettings_change", args=[1])
    page = admin_client.get(response["Location"])
    assert page.context["adminform"].form.initial["timezone"] == "Asia/Shanghai"


def test_system_settings_refuse_an_unknown_time_zone(admin_client):
    SystemSettings.get()
    response = admin_client.post(
        reverse("admin:hub_systemsettings_change", args=[1]),
        {"timezone": "Mars/Olympus", "log_retention_days": 30},
    )
    assert response.status_code == 200
    assert "timezone" in response.context["adminform"].form.errors
    assert SystemSettings.get().timezone == "Asia/Shanghai"


def test_the_request_list_says_about_when_its_count_is_an_estimate(admin_client, admin_user, make_request_row,
                                                                     monkeypatch):  # fmt: skip
    make_request_row(user=admin_user, session_id="s-1")
    url = reverse("admin:usage_messagerequest_changelist")
    exact = admin_client.get(url).content.decode()
    assert "1 request" in exact and "about" not in exact
    monkeypatch.setattr("usage.admin.bounded_count", lambda queryset, limit: (20003, False))
    for page in (admin_client.get(url), admin_client.get(url, {"provider__id__exact": "1"})):
        text = page.content.decode()
        assert "about 20,003 requests (estimated)" in text
        assert "20003" not in text
