"""Dashboard, leaderboard and token statistics: figures equal raw rows, only what one may see."""

from decimal import Decimal

import pytest
from django.utils import timezone

from hub.models import SystemSettings
from tests.clock import minutes_ago
from usage import rollups

pytestmark = pytest.mark.django_db


@pytest.fixture
def today(alice, bob, make_request_row):
    now = timezone.now()
    rows = [
        make_request_row(user=alice, created_at=minutes_ago(2, now=now), session_id="live-1", cost=Decimal("1.5"),
                         input_tokens=100, output_tokens=10, cache_read_tokens=300),
        make_request_row(user=alice, created_at=minutes_ago(1, now=now), session_id="live-1", cost=Decimal("0.5"),
                         input_tokens=0, output_tokens=0, cache_read_tokens=0, model="gpt-5", original_model="gpt-5"),
        make_request_row(user=bob, created_at=minutes_ago(3, now=now), cost=Decimal("4"), status_code=500,
                         error_message="boom"),
    ]  # fmt: skip
    for hour in {rollups.floor_hour(row.created_at) - rollups.HOUR for row in rows}:
        rollups.rollup_hour(hour)
    return rows


def test_dashboard_cards_show_todays_own_figures_to_a_user(client, alice, today):
    client.force_login(alice)
    cards = client.get("/").context["cards"]
    assert cards["requests"] == 2 and cards["cost"] == Decimal("2") and cards["active_users"] is None
    assert cards["tokens"] == 410


def test_dashboard_shows_everyone_and_active_users_to_an_admin(client, admin_user, today):
    client.force_login(admin_user)
    response = client.get("/")
    cards = response.context["cards"]
    assert cards["requests"] == 3 and cards["cost"] == Decimal("6") and cards["active_users"] == 2
    sessions = response.context["active_sessions"]
    assert [s.session_id for s in sessions] == ["live-1"] and sessions[0].requests == 2
    assert f"/sessions/{sessions[0].pk}/".encode() in response.content


def test_no_data_is_shown_as_such_not_as_zero(client, alice):
    client.force_login(alice)
    response = client.get("/")
    assert response.context["cards"]["cost"] is None and "No data" in response.content.decode()


def test_leaderboard_is_for_admins_unless_the_setting_opens_it(client, alice, admin_user, today):
    client.force_login(alice)
    assert client.get("/leaderboard/").status_code == 403
    assert client.get("/api/v1/stats/leaderboard").status_code == 403
    settings_row = SystemSettings.get()
    settings_row.allow_global_usage_view = True
    settings_row.save()
    board = client.get("/api/v1/stats/leaderboard?period=today&by=user").json()["results"]
    assert [(row["name"], row["requests"], Decimal(row["cost"])) for row in board] == [
        ("Bob", 1, Decimal("4")), ("Alice", 2, Decimal("2")),
    ]  # fmt: skip
    assert client.get("/leaderboard/").status_code == 200


def test_leaderboard_figures_by_provider_and_model(client, admin_user, today):
    client.force_login(admin_user)
    models = client.get("/api/v1/stats/leaderboard?period=today&by=model").json()["results"]
    by_name = {row["name"]: row for row in models}
    assert by_name["claude-sonnet-4-5"]["requests"] == 2 and by_name["claude-sonnet-4-5"]["success_rate"] == 0.5
    assert by_name["gpt-5"]["rank"] == 2
    page = client.get("/leaderboard/?by=provider&period=month")
    assert page.status_code == 200


def test_a_user_sees_only_their_own_token_statistics(client, alice, bob, today):
    client.force_login(alice)
    stats = client.get("/api/v1/stats/tokens?period=today&bucket=hour").json()
    assert stats["summary"]["requests"] == 2 and stats["summary"]["input_tokens"] == 100
    assert stats["summary"]["zero_token_successes"] == 1
    assert stats["summary"]["cache_hit_ratio"] == 0.75
    assert client.get(f"/api/v1/stats/tokens?user={bob.pk}").status_code == 400


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/stats/leaderboard?period=yearly", "period"),
        ("/api/v1/stats/leaderboard?by=team", "by"),
        ("/api/v1/stats/tokens?bucket=week", "bucket"),
        ("/api/v1/stats/tokens?period=custom&start=2026-01-02T00:00:00Z", "start"),
        ("/api/v1/stats/timeseries?by=colour", "by"),
        ("/api/v1/stats/tokens?period=custom&start=yesterday&end=today", "start"),
    ],
)
def test_bad_parameters_answer_400_naming_them(client, admin_user, url, field):
    client.force_login(admin_user)
    response = client.get(url)
    assert response.status_code == 400 and field in response.json()


def test_zero_token_figure_links_to_exactly_those_rows(client, alice, today):
    client.force_login(alice)
    page = client.get("/logs/?zero_tokens=true")
    assert [row.model for row in page.context["page"].rows] == ["gpt-5"]
