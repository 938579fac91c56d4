"""The statistics API: parameters, key scopes, and the same figures as the pages."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from providers.models import Provider
from tests.clock import minutes_ago
from usage import rollups

pytestmark = pytest.mark.django_db
DAY = datetime(2026, 4, 2, tzinfo=UTC)


@pytest.fixture
def provider(db):
    return Provider.objects.create(name="anthropic-main", type="claude")


@pytest.fixture
def traffic(alice, bob, provider, make_key, make_request_row):
    alice_key = make_key(alice, "laptop").key
    rows = [
        make_request_row(user=alice, key_id=alice_key.pk, provider_id=provider.pk, created_at=DAY + timedelta(hours=2),
                         cost=Decimal("0.10"), input_tokens=100, output_tokens=50),
        make_request_row(user=alice, created_at=DAY + timedelta(hours=3, minutes=30), model="gpt-5",
                         original_model="gpt-5", cost=None, input_tokens=0, output_tokens=0),
        make_request_row(user=bob, provider_id=provider.pk, created_at=DAY + timedelta(hours=2, minutes=10),
                         cost=Decimal("1.00"), status_code=429, error_message="slow down", input_tokens=7),
    ]  # fmt: skip
    for hour in range(0, 24):
        rollups.rollup_hour(DAY + timedelta(hours=hour))
    return rows


def get(client, url, **headers):
    response = client.get(url, **headers)
    return response.status_code, (response.json() if response["Content-Type"].startswith("application/json") else None)


def test_naive_times_are_read_in_the_system_zone_and_start_end_make_a_custom_period(client, admin_user, traffic):
    client.force_login(admin_user)
    # 2026-04-02 10:00 in Shanghai is 02:00 UTC: only the rows from 02:00 UTC on.
    status, body = get(client, "/api/v1/stats/tokens?start=2026-04-02T10:00&end=2026-04-03T00:00&bucket=hour")
    assert status == 200
    assert body["summary"]["requests"] == 3 and body["summary"]["input_tokens"] == 107
    assert body["start"].startswith("2026-04-02T10:00:00+08:00")
    status, body = get(client, "/api/v1/stats/tokens?start=2026-04-02T11:00:00%2B08:00&end=2026-04-03")
    assert body["summary"]["requests"] == 1  # only the 03:30 UTC row is after 11:00 Shanghai


def test_filters_by_key_provider_and_model(client, alice, admin_user, provider, traffic):
    client.force_login(admin_user)
    base = "/api/v1/stats/tokens?start=2026-04-02&end=2026-04-03"
    assert get(client, f"{base}&provider={provider.pk}")[1]["summary"]["requests"] == 2
    assert get(client, f"{base}&key={traffic[0].key_id}")[1]["summary"]["requests"] == 1
    assert get(client, f"{base}&model=gpt-5")[1]["summary"]["zero_token_successes"] == 1
    assert get(client, f"{base}&user={alice.pk}")[1]["summary"]["requests"] == 2


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("bucket=minute", "bucket"),
        ("period=all&bucket=hour", "bucket"),  # more hour buckets than a series may have
        ("start=not-a-date", "start"),
        ("period=custom&start=2026-04-03&end=2026-04-02", "end"),
        ("provider=999999", "provider"),
        ("key=abc", "key"),
    ],
)
def test_bad_token_parameters_answer_400_naming_the_parameter(client, admin_user, traffic, query, parameter):
    client.force_login(admin_user)
    status, body = get(client, f"/api/v1/stats/tokens?{query}")
    assert status == 400 and parameter in body, body


def test_a_user_cannot_name_another_users_key(client, alice, bob, make_key, traffic):
    bobs = make_key(bob, "bobs").key
    client.force_login(alice)
    status, body = get(client, f"/api/v1/stats/tokens?key={bobs.pk}")
    assert status == 400 and "key" in body


def test_timeseries_by_provider_and_overall(client, admin_user, provider, traffic):
    client.force_login(admin_user)
    status, body = get(client, "/api/v1/stats/timeseries?start=2026-04-02T08:00&end=2026-04-02T14:00&by=provider")
    assert status == 200 and body["bucket"] == "hour"
    points = {(p["bucket"][:16], p["key"]): p for p in body["results"]}
    assert points[("2026-04-02T10:00", "anthropic-main")]["requests"] == 2
    assert points[("2026-04-02T10:00", "anthropic-main")]["errors"] == 1
    assert points[("2026-04-02T10:00", "anthropic-main")]["cost"] == "1.1000000000"
    assert points[("2026-04-02T11:00", "—")]["cost"] is None  # no price is no data, not 0
    status, body = get(client, "/api/v1/stats/timeseries?start=2026-04-02&end=2026-04-03&bucket=day")
    assert [(p["bucket"][:10], p["requests"]) for p in body["results"]] == [("2026-04-02", 3)]


def test_leaderboard_api_by_provider_and_model(client, admin_user, provider, traffic):
    client.force_login(admin_user)
    status, body = get(client, "/api/v1/stats/leaderboard?start=2026-04-02&end=2026-04-03&by=provider")
    assert status == 200
    top = body["results"][0]
    assert (top["name"], top["requests"], top["errors"], top["success_rate"]) == ("anthropic-main", 2, 1, 0.5)
    assert top["cost"] == "1.1000000000"
    status, body = get(client, "/api/v1/stats/leaderboard?start=2026-04-02&end=2026-04-03&by=model")
    assert {row["name"] for row in body["results"]} == {"claude-sonnet-4-5", "gpt-5"}


def test_read_scope_keys_may_read_and_ingest_only_keys_may_not(client, alice, make_key, traffic):
    reader = make_key(alice, "grafana", scope_ingest=False, scope_read=True)
    pusher = make_key(alice, "gateway", scope_ingest=True, scope_read=False)
    url = "/api/v1/stats/tokens?start=2026-04-02&end=2026-04-03"
    status, body = get(client, url, HTTP_AUTHORIZATION=f"Bearer {reader.secret}")
    assert status == 200 and body["summary"]["requests"] == 2
    assert get(client, url, HTTP_AUTHORIZATION=f"Bearer {pusher.secret}")[0] == 403
    assert get(client, url)[0] in (401, 403)


def test_overview_counts_todays_rows_and_active_sessions(client, alice, admin_user, make_request_row):
    now = timezone.now()
    make_request_row(user=alice, created_at=minutes_ago(1, now=now), session_id="s-live", cost=Decimal("0.5"))
    make_request_row(user=alice, created_at=now - timedelta(minutes=30), session_id="s-old")
    client.force_login(alice)
    status, body = get(client, "/api/v1/stats/overview")
    assert status == 200 and body["requests"] >= 1 and body["active_users"] is None
    assert body["active_session_count"] == 1 and body["active_sessions"][0]["session_id"] == "s-live"


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-04-02T10:00&end=2026-04-03T00:00",
        "start=2026-04-02T11:00:00%2B08:00&end=2026-04-03",
        "start=2026-04-02T03:00:00Z&end=2026-04-02T04:00:00Z",
        "start=2026-04-02&end=2026-04-03",
    ],
)
def test_the_page_and_the_api_read_a_period_the_same_way(client, admin_user, traffic, query):
    client.force_login(admin_user)
    api = get(client, f"/api/v1/stats/tokens?{query}")[1]
    page = client.get(f"/tokens/?{query}").context
    assert (page["start"], page["end"]) == (datetime.fromisoformat(api["start"]), datetime.fromisoformat(api["end"]))
    assert page["summary"]["requests"] == api["summary"]["requests"]


@pytest.mark.parametrize("value", ["not-a-date", "2026-02-30", "2026-13-01T00:00", "9999-12-31T23:59:59-14:00"])
def test_a_date_the_api_refuses_is_a_message_on_the_page(client, admin_user, traffic, value):
    client.force_login(admin_user)
    assert get(client, f"/api/v1/stats/tokens?start={value}&end=2026-04-03")[0] == 400
    response = client.get(f"/tokens/?start={value}&end=2026-04-03")
    assert response.status_code == 200 and any(error.startswith("start:") for error in response.context["errors"])
