"""A user never sees another user's totals: not on the pages, not in the API, not through the
leaderboard switch beyond the leaderboard's own figures."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from hub.models import SystemSettings
from tests.clock import minutes_ago
from usage import rollups

pytestmark = pytest.mark.django_db


def open_leaderboard(on: bool) -> None:
    row = SystemSettings.get()
    row.allow_global_usage_view = on
    row.save()


@pytest.fixture
def both(alice, bob, make_request_row):
    now = timezone.now()
    make_request_row(
        user=alice,
        created_at=minutes_ago(1, now=now),
        cost=Decimal("1"),
        input_tokens=11,
        session_id="alice-s",
        model="alice-model",
        original_model="alice-model",
    )
    make_request_row(
        user=bob,
        created_at=minutes_ago(2, now=now),
        cost=Decimal("100"),
        input_tokens=9000,
        session_id="bob-s",
        model="bob-model",
        original_model="bob-model",
    )
    make_request_row(user=bob, created_at=now - timedelta(hours=30), cost=Decimal("50"), input_tokens=5000,
                     model="bob-model", original_model="bob-model")  # fmt: skip
    rollups.mark_range(now - timedelta(days=2), now - timedelta(hours=1))
    rollups.rollup_dirty()


@pytest.mark.parametrize("url", ["/", "/tokens/", "/tokens/?period=all"])
def test_pages_show_a_user_only_their_own_rows(client, alice, both, url):
    client.force_login(alice)
    page = client.get(url).content.decode()
    assert "alice-model" in page
    assert "bob-model" not in page and "bob-s" not in page and "9,000" not in page


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/stats/overview",
        "/api/v1/stats/tokens?period=all",
        "/api/v1/stats/timeseries?period=all&bucket=day&by=model",
    ],
)
def test_the_api_shows_a_user_only_their_own_rows(client, alice, both, url):
    client.force_login(alice)
    body = client.get(url).content.decode()
    assert "bob-model" not in body and "bob-s" not in body and "9000" not in body


def test_the_leaderboard_switch_opens_the_figures_and_closes_them_again(client, alice, bob, both):
    client.force_login(alice)
    assert client.get("/leaderboard/").status_code == 403
    assert client.get("/api/v1/stats/leaderboard?by=model").status_code == 403
    assert client.get(f"/leaderboard/users/{bob.pk}/").status_code == 403

    open_leaderboard(True)
    board = client.get("/api/v1/stats/leaderboard?period=today").json()["results"]
    assert {row["name"]: row["requests"] for row in board} == {"Bob": 1, "Alice": 1}
    page = client.get("/leaderboard/?period=today").content.decode()
    assert "Bob" in page
    # Bob's row gives figures only: no link into Bob's logs, which Alice may not read.
    assert f"user={bob.pk}" not in page and f"user={alice_pk(client)}" in page
    detail = client.get(f"/leaderboard/users/{bob.pk}/?period=all")
    assert detail.status_code == 200 and detail.context["summary"]["requests"] == 2
    assert detail.context["logs"] is None and "/logs/" not in detail.content.decode().split("<main")[1]
    # Everything else stays her own.
    assert "bob-model" not in client.get("/tokens/?period=all").content.decode()
    assert client.get(f"/api/v1/stats/tokens?user={bob.pk}").status_code == 400

    open_leaderboard(False)
    assert client.get("/leaderboard/").status_code == 403
    assert client.get(f"/leaderboard/users/{bob.pk}/").status_code == 403


def alice_pk(client) -> int:
    return int(client.session["_auth_user_id"])


def test_a_user_always_sees_their_own_drill_down_with_links_to_their_logs(client, alice, both):
    client.force_login(alice)
    response = client.get(f"/leaderboard/users/{alice.pk}/?period=all")
    assert response.status_code == 200
    assert response.context["summary"]["requests"] == 1 and response.context["logs"].startswith("/logs/?")


def test_an_admin_sees_everyone(client, admin_user, bob, both):
    client.force_login(admin_user)
    assert client.get("/").context["cards"]["requests"] == 2
    detail = client.get(f"/leaderboard/users/{bob.pk}/?period=all")
    assert detail.context["summary"]["cost"] == Decimal("150") and f"user={bob.pk}" in detail.context["logs"]
