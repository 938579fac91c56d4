import pytest
from django.contrib.auth.models import AnonymousUser

from hub.models import ApiKey, User
from usage.models import MessageRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(alice, bob, make_request_row):
    return {
        "alice": [make_request_row(user=alice), make_request_row(user=alice)],
        "bob": [make_request_row(user=bob)],
    }


def test_admin_sees_every_users_requests(admin_user, rows):
    assert MessageRequest.objects.visible_to(admin_user).count() == 3


def test_user_sees_only_their_own_requests(alice, bob, rows):
    assert set(MessageRequest.objects.visible_to(alice).values_list("user_id", flat=True)) == {alice.pk}
    assert MessageRequest.objects.visible_to(bob).count() == 1


def test_anonymous_and_disabled_users_see_nothing(alice, rows):
    assert not MessageRequest.objects.visible_to(AnonymousUser()).exists()
    assert not MessageRequest.objects.visible_to(None).exists()
    alice.is_active = False
    alice.save()
    assert not MessageRequest.objects.visible_to(alice).exists()


def test_keys_follow_the_same_policy(admin_user, alice, bob, make_key):
    make_key(alice, "a")
    make_key(bob, "b")
    assert list(ApiKey.objects.visible_to(alice).values_list("name", flat=True)) == ["a"]
    assert ApiKey.objects.visible_to(admin_user).count() == 2


def test_users_list_follows_the_same_policy(admin_user, alice, bob):
    assert list(User.objects.visible_to(alice)) == [alice]
    assert User.objects.visible_to(admin_user).count() == 3


def test_role_drives_django_admin_access(alice):
    assert not alice.is_staff
    alice.role = User.Role.ADMIN
    alice.save()
    alice.refresh_from_db()
    assert alice.is_staff and alice.is_superuser


def test_another_users_key_answers_404_like_a_missing_one(client, alice, bob, make_key):
    bobs = make_key(bob, "bobs").key
    client.force_login(alice)
    assert client.post(f"/keys/{bobs.pk}/toggle/").status_code == 404
    assert client.post("/keys/999999/toggle/").status_code == 404
    bobs.refresh_from_db()
    assert bobs.enabled


def test_user_can_disable_their_own_key(client, alice, make_key):
    key = make_key(alice, "mine").key
    client.force_login(alice)
    response = client.post(f"/keys/{key.pk}/toggle/", follow=True)
    key.refresh_from_db()
    assert not key.enabled
    assert "disabled" in response.content.decode()


def test_overview_counts_only_what_the_viewer_may_see(client, admin_user, alice, rows):
    client.force_login(alice)
    assert client.get("/").context["cards"]["requests"] == 2
    client.force_login(admin_user)
    assert client.get("/").context["cards"]["requests"] == 3


def test_anonymous_visitor_is_sent_to_login(client):
    for url in ("/", "/keys/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_rollups_follow_the_same_policy_as_raw_rows(admin_user, alice, bob, rows):
    from usage import rollups
    from usage.models import UsageHourly, UsageHourlyBrief

    for hour in {rollups.floor_hour(row.created_at) for group in rows.values() for row in group}:
        rollups.rollup_hour(hour)
    for model in (UsageHourly, UsageHourlyBrief):
        assert set(model.objects.visible_to(alice).values_list("user_id", flat=True)) == {alice.pk}
        assert set(model.objects.visible_to(admin_user).values_list("user_id", flat=True)) == {alice.pk, bob.pk}
        assert not model.objects.visible_to(AnonymousUser()).exists()


def test_the_leaderboard_scope_widens_only_while_the_setting_opens_it(admin_user, alice, bob, rows):
    from hub.models import SystemSettings
    from hub.visibility import Scope, audience, may_see_leaderboard

    leaderboard = MessageRequest.objects.visible_to(alice, scope=Scope.LEADERBOARD)
    assert not may_see_leaderboard(alice) and leaderboard.count() == 2 and audience(alice, Scope.LEADERBOARD) != "all"
    settings_row = SystemSettings.get()
    settings_row.allow_global_usage_view = True
    settings_row.save()
    assert may_see_leaderboard(alice) and audience(alice, Scope.LEADERBOARD) == "all"
    assert MessageRequest.objects.visible_to(alice, scope=Scope.LEADERBOARD).count() == 3
    # The rows themselves stay private: only the leaderboard's figures open up.
    assert MessageRequest.objects.visible_to(alice).count() == 2
    assert not may_see_leaderboard(AnonymousUser()) and audience(None) == "none"
