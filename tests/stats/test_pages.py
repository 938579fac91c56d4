"""The statistics pages: periods, filters, drill-down links, "no data" shown as such."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from usage import rollups

pytestmark = pytest.mark.django_db
DAY = datetime(2026, 4, 2, tzinfo=UTC)


@pytest.fixture
def rows(alice, bob, make_key, make_request_row):
    key = make_key(alice, "laptop").key
    made = [
        make_request_row(user=alice, key_id=key.pk, created_at=DAY + timedelta(hours=3), cost=Decimal("0.5"),
                         input_tokens=40, output_tokens=2),
        make_request_row(user=alice, created_at=DAY + timedelta(hours=4, minutes=10), cost=None, model="free-model",
                         original_model="free-model", input_tokens=0, output_tokens=0),
        make_request_row(user=bob, created_at=DAY + timedelta(hours=3), cost=Decimal("9"), input_tokens=900),
    ]  # fmt: skip
    for hour in range(24):
        rollups.rollup_hour(DAY + timedelta(hours=hour))
    return made


def test_dates_typed_in_make_a_custom_period(client, alice, rows):
    client.force_login(alice)
    response = client.get("/tokens/?period=month&start=2026-04-02T00:00&end=2026-04-03T00:00")
    assert response.context["period"] == "custom"
    assert response.context["summary"]["requests"] == 2 and response.context["summary"]["input_tokens"] == 40


def test_the_zero_token_card_links_to_those_rows_with_the_same_window_and_filters(client, alice, rows):
    client.force_login(alice)
    response = client.get("/tokens/?start=2026-04-02T00:00&end=2026-04-03T00:00&model=free-model")
    assert response.context["summary"]["zero_token_successes"] == 1
    link = parse_qs(urlsplit(response.context["links"]["zero_tokens"]).query)
    assert link == {
        "start": ["2026-04-02T00:00"], "end": ["2026-04-03T00:00"], "zero_tokens": ["true"],
        "original_model": ["free-model"],
    }  # fmt: skip
    logs = client.get(response.context["links"]["zero_tokens"])
    assert [row.model for row in logs.context["page"].rows] == ["free-model"]


def test_a_refused_filter_shows_its_error_and_no_figures(client, alice, bob, make_key, rows):
    bobs = make_key(bob, "bobs").key
    client.force_login(alice)
    response = client.get(f"/tokens/?period=all&key={bobs.pk}")
    assert response.context["summary"]["requests"] == 0
    # The same words as the request log's refusal of the same key.
    expected = f"Key: “{bobs.pk}” is not a key whose requests you may see."
    assert expected in response.content.decode()
    logs = client.get(f"/logs/?key={bobs.pk}")
    assert expected in logs.content.decode()


def test_a_cost_without_any_priced_request_is_no_data(client, alice, rows):
    client.force_login(alice)
    response = client.get(f"/leaderboard/users/{alice.pk}/?start=2026-04-02T12:00&end=2026-04-02T13:00")
    assert response.context["summary"]["requests"] == 1 and response.context["summary"]["cost"] is None
    assert "No data" in response.content.decode()


def test_leaderboard_rows_link_to_the_logs_behind_them(client, admin_user, alice, rows):
    client.force_login(admin_user)
    response = client.get("/leaderboard/?by=user&start=2026-04-02T00:00&end=2026-04-03T00:00")
    board = {row["name"]: row for row in response.context["board"]}
    assert [row["name"] for row in response.context["board"]] == ["Bob", "Alice"]  # by cost
    link = parse_qs(urlsplit(board["Alice"]["logs"]).query)
    assert link == {"start": ["2026-04-02T00:00"], "end": ["2026-04-03T00:00"], "user": [str(alice.pk)]}
    assert board["Alice"]["requests"] == len(client.get(board["Alice"]["logs"]).context["page"].rows)
    quick = dict((name, url) for name, _label, url in response.context["period_links"])
    assert parse_qs(urlsplit(quick["month"]).query) == {"by": ["user"], "period": ["month"]}


def test_dashboard_tables_link_each_bucket_to_its_logs(client, admin_user, rows):
    client.force_login(admin_user)
    daily = client.get("/").context["daily"]
    assert daily.bucket == "day" and len(daily.x) == 30
    first = daily.default.rows[0]
    assert parse_qs(urlsplit(first["link"]).query)["start"][0].endswith("T00:00")
    assert {variant.id for variant in daily.variants} == {
        f"{metric}-{by}" for metric in ("requests", "cost", "tokens") for by in ("model", "provider")
    }


def test_with_thousands_of_keys_the_statistics_filters_are_typed_not_listed(client, admin_user, alice, bob, make_key,
                                                                            make_request_row):  # fmt: skip
    from django.utils import timezone

    from hub.forms import CHOICES_LIMIT
    from hub.models import ApiKey

    key = make_key(alice, "laptop").key
    ApiKey.objects.bulk_create([
        ApiKey(name=f"bulk-{n}", owner=bob, prefix=f"uhk_s{n:07d}", secret_hash=f"h{n}") for n in range(CHOICES_LIMIT)
    ])  # fmt: skip
    make_request_row(user=alice, key_id=key.pk, input_tokens=111, output_tokens=0, created_at=timezone.now())
    make_request_row(user=bob, input_tokens=9000, output_tokens=0, created_at=timezone.now())
    client.force_login(admin_user)
    page = client.get("/tokens/", {"period": "today"}).content.decode()
    assert '<select name="key"' not in page and 'name="key"' in page and page.count("<option") < 50
    for name, spelling in (("key", key.prefix), ("key", str(key.pk)), ("user", "alice"), ("user", str(alice.pk))):
        api = client.get("/api/v1/stats/tokens", {"period": "today", name: spelling}).json()
        assert api["summary"]["input_tokens"] == 111, spelling
    refused = client.get("/api/v1/stats/tokens", {"period": "today", "key": "uhk_nosuchkey"})
    assert refused.status_code == 400 and "key" in refused.json()
