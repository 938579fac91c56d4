"""Provider availability: status thresholds, windows and buckets, figures equal to raw rows,
the status snapshot and its events, admins only, both languages."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone, translation

from providers.models import Provider, ProviderState, ProviderStatus, ProviderStatusEvent
from providers.services import provider_state, provider_status_record
from stats import availability
from stats.tasks import provider_statuses_refresh
from usage.bulk import RequestRow
from usage.rollups import minutes
from usage.services import requests_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def claude():
    return Provider.objects.create(name="claude-main", type="claude")


@pytest.fixture
def openai():
    return Provider.objects.create(name="openai-main", type="openai")


def store(user, provider, statuses, *, minutes_ago: float = 5, duration_ms=1_000, error_message="", at=None):
    """Rows for ``provider`` with ``statuses``, ``minutes_ago`` before now (or ``at``); then roll them up."""
    moment = at or timezone.now() - timedelta(minutes=minutes_ago)
    requests_store([
        RequestRow(request_id=f"{provider.pk}-{moment.timestamp()}-{i}", created_at=moment, user_id=user.pk,
                   provider_id=provider.pk, model="m", original_model="m", status_code=status,
                   duration_ms=duration_ms, ttft_ms=duration_ms // 4, error_message=error_message)
        for i, status in enumerate(statuses)
    ])  # fmt: skip
    minutes.rollup_dirty_minutes()


def test_status_thresholds():
    assert provider_state(requests=0, successes=0) == ProviderState.UNKNOWN
    assert provider_state(requests=10, successes=5) == ProviderState.UP  # exactly 50 %
    assert provider_state(requests=1000, successes=499) == ProviderState.DOWN
    assert provider_state(requests=1, successes=1) == ProviderState.UP


def test_half_successes_is_up_and_less_is_down(admin_user, claude, openai):
    store(admin_user, claude, [200, 302, 500, None])  # 2 of 4: exactly 50 %
    store(admin_user, openai, [200, 429, 503])  # 1 of 3
    found = {p["name"]: p for p in availability.provider_availability(viewer=admin_user, window="15m")["providers"]}
    assert found["claude-main"]["status"] == "up" and found["claude-main"]["availability"] == 0.5
    assert found["openai-main"]["status"] == "down"


def test_a_provider_quiet_for_15_minutes_is_unknown(admin_user, claude):
    store(admin_user, claude, [200, 200], minutes_ago=16)
    data = availability.provider_availability(viewer=admin_user, window="1h")
    (entry,) = data["providers"]
    assert entry["requests"] == 2 and entry["availability"] == 1.0
    assert entry["status"] == "unknown"


@pytest.mark.parametrize(
    ("window", "minutes_per_bucket", "points"),
    [("15m", 1, 15), ("1h", 1, 60), ("6h", 5, 72), ("24h", 15, 96), ("7d", 60, 168)],
)
def test_bucket_sizes_per_window(admin_user, claude, window, minutes_per_bucket, points):
    data = availability.provider_availability(viewer=admin_user, window=window)
    assert data["bucket_minutes"] == minutes_per_bucket
    assert len(data["buckets"]) == points == len(data["providers"][0]["series"])
    step = timedelta(minutes=minutes_per_bucket)
    assert data["buckets"][0] == data["start"] and timedelta(0) < data["end"] - data["buckets"][-1] <= step
    assert all(moment.minute % minutes_per_bucket == 0 for moment in data["buckets"])


@pytest.mark.parametrize("window", ["6h", "24h", "7d"])
def test_the_newest_bucket_counts_while_it_fills(admin_user, claude, window):
    moment = minutes.floor_minute(timezone.now()).replace(minute=11) - timedelta(hours=2)
    store(admin_user, claude, [200, 500], at=moment)
    now = moment + timedelta(minutes=2, seconds=30)  # 13 past: the 5, 15 and 60-minute buckets are filling
    (entry,) = availability.provider_availability(viewer=admin_user, window=window, now=now)["providers"]
    assert entry["requests"] == 2 and entry["series"][-1]["requests"] == 2


def test_an_unknown_window_is_refused():
    with pytest.raises(availability.AvailabilityError):
        availability.window_for("2d")


def test_figures_equal_the_raw_rows(admin_user, claude):
    store(admin_user, claude, [200] * 7 + [429, 500], duration_ms=800)
    store(admin_user, claude, [None], minutes_ago=3, duration_ms=30_000, error_message="upstream read timeout")
    store(admin_user, claude, [None], minutes_ago=3, error_message="")
    (entry,) = availability.provider_availability(viewer=admin_user, window="1h")["providers"]
    assert (entry["requests"], entry["successes"], entry["failures"]) == (11, 7, 4)
    assert {(e["status"], e["kind"]): e["requests"] for e in entry["errors"]} == {
        (429, None): 1, (500, None): 1, (None, "timeout"): 1, (None, "no_response"): 1,
    }  # fmt: skip
    assert entry["duration_ms"]["p50"] == pytest.approx(800, rel=0.05)
    assert entry["low_confidence"] is True
    assert sum(point["requests"] for point in entry["series"]) == 11


def test_figures_are_computed_once_per_minute_for_every_viewer(admin_user, make_user, claude,
                                                                django_assert_num_queries):  # fmt: skip
    other_admin = make_user("ops", role="admin")
    store(admin_user, claude, [200])
    now = timezone.now()
    first = availability.provider_availability(viewer=admin_user, window="6h", now=now)
    with django_assert_num_queries(0):
        again = availability.provider_availability(viewer=other_admin, window="6h", now=now)
    assert again == first


def test_a_status_change_is_recorded_once(admin_user, claude):
    store(admin_user, claude, [500, 500, 200])
    provider_statuses_refresh()
    provider_statuses_refresh()
    status = ProviderStatus.objects.get(provider=claude)
    assert status.state == ProviderState.DOWN
    assert list(ProviderStatusEvent.objects.values_list("previous", "state")) == [("unknown", "down")]
    store(admin_user, claude, [200] * 5, minutes_ago=2)
    provider_statuses_refresh()
    provider_statuses_refresh()
    assert list(ProviderStatusEvent.objects.order_by("at", "id").values_list("previous", "state")) == [
        ("unknown", "down"), ("down", "up"),
    ]  # fmt: skip
    assert ProviderStatus.objects.get(provider=claude).since > status.since


def test_the_snapshot_keeps_since_while_the_state_holds(claude):
    first = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    provider_status_record(provider_id=claude.pk, requests=4, successes=4, now=first)
    later = provider_status_record(provider_id=claude.pk, requests=9, successes=8, now=first + timedelta(minutes=3))
    assert later.since == first and later.computed_at == first + timedelta(minutes=3)
    assert ProviderStatusEvent.objects.count() == 1


def test_the_selector_gives_a_user_no_providers_without_reading_them(alice, claude, django_assert_num_queries):
    with django_assert_num_queries(0):
        data = availability.provider_availability(viewer=alice, window="7d")
    assert data["providers"] == [] and len(data["buckets"]) == 168


def test_only_admins_see_the_page_and_the_api(client, admin_user, alice, claude):
    assert client.get("/availability/").status_code == 302  # to the login page
    client.force_login(alice)
    assert client.get("/availability/").status_code == 403
    assert client.get("/api/v1/providers/availability").status_code == 403
    assert "/availability/" not in client.get("/").content.decode()
    client.force_login(admin_user)
    assert client.get("/availability/").status_code == 200
    assert client.get("/api/v1/providers/availability?window=7d").status_code == 200
    assert 'href="/availability/"' in client.get("/").content.decode()


def test_the_api_gives_the_page_figures_and_refuses_bad_parameters(client, admin_user, claude, openai):
    store(admin_user, claude, [200, 503])
    client.force_login(admin_user)
    answer = client.get(f"/api/v1/providers/availability?window=15m&provider={claude.pk}").json()
    assert [p["name"] for p in answer["providers"]] == ["claude-main"]
    assert answer["providers"][0]["availability"] == 0.5 and answer["bucket_minutes"] == 1
    assert client.get("/api/v1/providers/availability?window=2d").status_code == 400
    assert client.get("/api/v1/providers/availability?provider=999999").status_code == 400
    assert client.get("/api/v1/providers/availability?provider=²").status_code == 400
    assert client.get("/api/v1/providers/availability?provider=99999999999999999999").status_code == 400
    page = client.get(f"/availability/?provider={claude.pk}")
    assert [p["name"] for p in page.context["providers"]] == ["claude-main"]
    assert f'<option value="{claude.pk}" selected>' in page.content.decode()


def test_an_admin_key_with_the_read_scope_may_read_the_api(client, admin_user, make_key, claude):
    created = make_key(admin_user, "grafana", scope_ingest=False)
    response = client.get("/api/v1/providers/availability", HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    assert response.status_code == 200


def test_each_figure_links_to_the_rows_behind_it(client, admin_user, claude):
    store(admin_user, claude, [200, 429])
    store(admin_user, claude, [None], minutes_ago=4, error_message="")
    client.force_login(admin_user)
    page = client.get("/availability/?window=1h")
    (entry,) = page.context["providers"]
    shown = client.get(entry["links"]["all"])
    assert len(shown.context["page"].rows) == 3
    links = {(e["status"], e["kind"]): e["link"] for e in entry["errors"]}
    assert parse_qs(urlsplit(links[(429, None)]).query)["status"] == ["429"]
    no_status = client.get(links[(None, "no_response")])
    assert [row.status_code for row in no_status.context["page"].rows] == [None]


def test_the_page_in_both_languages(client, admin_user, claude):
    store(admin_user, claude, [200, 500])
    client.force_login(admin_user)
    english = client.get("/availability/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Provider availability" in english and "Failures by status" in english
    with translation.override("zh-hans"):
        chinese = client.get("/availability/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "供应商可用性" in chinese and "Provider availability" not in chinese


def test_the_admin_provider_list_shows_the_status(client, admin_user, claude):
    provider_status_record(provider_id=claude.pk, requests=3, successes=0, now=timezone.now())
    client.force_login(admin_user)
    page = client.get("/admin/providers/provider/").content.decode()
    assert 'class="provider-state down"' in page


def test_a_window_is_covered_by_the_fewest_rows():
    start = datetime(2026, 11, 23, 13, 7, tzinfo=UTC)
    end = datetime(2026, 11, 30, 13, 7, tzinfo=UTC)
    parts = availability.cover(start, end)
    assert [span for span, _first, _last in parts] == [1, 5, 15, 60, 1440, 60, 5, 1]
    assert parts[0][1] == start and parts[-1][2] == end
    assert all(parts[i][2] == parts[i + 1][1] for i in range(len(parts) - 1))  # no gap, no overlap
    assert (1440, datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)) in parts


def test_window_percentiles_over_days_equal_those_over_minutes(admin_user, claude):
    store(admin_user, claude, [200] * 40, minutes_ago=60 * 30, duration_ms=4_000)
    store(admin_user, claude, [200] * 10, minutes_ago=3, duration_ms=100)
    (entry,) = availability.provider_availability(viewer=admin_user, window="7d")["providers"]
    assert entry["requests"] == 50
    assert entry["duration_ms"]["p50"] == pytest.approx(4_000, rel=0.05)
    assert entry["duration_ms"]["p95"] == pytest.approx(4_000, rel=0.05)
    (recent,) = [point for point in entry["series"] if point["requests"] == 10]  # the newest bucket or the one before
    assert recent["duration_p95"] == pytest.approx(100, rel=0.05)
