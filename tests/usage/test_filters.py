"""MessageRequestFilterSet: one test per filter, on the page and in the API alike, a check that
no filter goes untested, bad values answered 400 naming the parameter, and the quick ranges
around midnight in Asia/Shanghai."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.usage import logs_world
from tests.usage.logs_world import NOW, api_ids, ids, shown
from usage.filters import MessageRequestFilterSet
from usage.periods import range_bounds

pytestmark = pytest.mark.django_db
world = logs_world.world
SHANGHAI = ZoneInfo("Asia/Shanghai")
LOCAL = "%Y-%m-%dT%H:%M"

# filter -> (query, rows an admin sees with it). ``{name}`` is filled from the world.
CASES = {
    "range": ("range=last_30_days", {"ok", "limited", "warned", "failed", "empty", "old"}),
    "start": ("start={ten_days_ago}", {"ok", "limited", "warned", "failed", "empty", "old"}),
    "end": ("end={eight_days_ago}", {"old"}),
    "user": ("user=bob", {"failed", "empty"}),
    "key": ("key={bob_key}", {"failed", "empty"}),
    "provider": ("provider={openai}", {"limited", "empty"}),
    "status": ("status=429", {"limited"}),
    "model": ("model=gpt-5", {"limited"}),
    "original_model": ("original_model=gpt-4o", {"limited"}),
    "endpoint": ("endpoint=/v1/chat/completions", {"limited"}),
    "session": ("session=s-1", {"ok"}),
    "errors": ("errors=true", {"limited", "warned", "failed"}),
    "zero_tokens": ("zero_tokens=true", {"empty"}),
    "incomplete": ("incomplete=true", {"warned"}),
    "no_price": ("no_price=true", {"failed"}),
}
MORE_CASES = [
    ("", {"ok", "limited", "warned", "failed", "empty"}),  # the last 7 days
    ("status=4xx", {"limited"}),
    ("status=5xx", {"failed"}),
    ("status=2xx", {"ok", "warned", "empty"}),
    ("status=none", set()),  # every row of this world has a status
    ("user={alice_id}", {"ok", "limited", "warned"}),
    ("errors=false", {"ok", "limited", "warned", "failed", "empty"}),
    ("provider={claude}&errors=true", {"warned", "failed"}),
    ("range=last_30_days&end={eight_days_ago}", {"old"}),  # an explicit end replaces the range's
    ("model=no-such-model", set()),
]


def _fill(query: str, world) -> str:
    return query.format(
        bob_key=world["bob_key"].pk, openai=world["openai"].pk, claude=world["claude"].pk,
        alice_id=world["rows"]["ok"].user_id,
        ten_days_ago=(NOW - timedelta(days=10)).astimezone(SHANGHAI).strftime(LOCAL),
        eight_days_ago=(NOW - timedelta(days=8)).astimezone(SHANGHAI).strftime(LOCAL),
    )  # fmt: skip


def test_every_filter_has_a_case():
    assert set(CASES) == set(MessageRequestFilterSet.base_filters)


@pytest.mark.parametrize(
    ("query", "expected"), [*CASES.values(), *MORE_CASES], ids=[*CASES, *(q for q, _ in MORE_CASES)]
)
def test_a_filter_narrows_the_page_and_the_api_alike(client, admin_user, world, query, expected):
    client.force_login(admin_user)
    query = _fill(query, world)
    page = client.get(f"/logs/?{query}")
    assert page.status_code == 200 and shown(page) == ids(world, *expected)
    assert page.context["count"] == len(expected) and page.context["count_exact"]
    api = client.get(f"/api/v1/requests?{query}")
    assert api.status_code == 200 and api_ids(api) == ids(world, *expected)
    assert api.json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("range=forever", "range"),
        ("start=yesterday", "start"),
        ("end=2026-13-40", "end"),
        ("user=nobody", "user"),
        ("key=999999", "key"),
        ("key=abc", "key"),
        ("provider=999999", "provider"),
        ("status=abc", "status"),
        ("status=6xx", "status"),
        ("status=4290", "status"),
        ("model=" + "m" * 129, "model"),
        ("session=" + "s" * 129, "session"),
        ("errors=maybe", "errors"),
        ("zero_tokens=2", "zero_tokens"),
        ("incomplete=maybe", "incomplete"),
        ("no_price=perhaps", "no_price"),
        ("size=7", "size"),
        ("after=garbage", "after"),
        ("before=garbage", "before"),
        ("start=2026-03-02T00:00&end=2026-03-01T00:00", "end"),
    ],
)
def test_a_bad_value_answers_400_naming_the_parameter(client, admin_user, world, query, name):
    client.force_login(admin_user)
    response = client.get(f"/api/v1/requests?{query}")
    assert response.status_code == 400 and name in response.json(), response.content
    page = client.get(f"/logs/?{query}")
    assert page.status_code == 200
    if name not in ("size", "after", "before"):  # the page falls back to 50 rows, the newest page
        assert shown(page) == set() and 'role="alert"' in page.content.decode()


def test_a_naive_time_is_read_in_the_system_time_zone(client, admin_user, world):
    client.force_login(admin_user)
    local = world["rows"]["limited"].created_at.astimezone(SHANGHAI)
    naive = {
        "start": (local - timedelta(minutes=1)).strftime(LOCAL),
        "end": (local + timedelta(minutes=1)).strftime(LOCAL),
    }
    assert api_ids(client.get("/api/v1/requests", naive)) == ids(world, "limited")
    utc = local.astimezone(UTC)
    offset = {"start": (utc - timedelta(minutes=1)).isoformat(), "end": (utc + timedelta(minutes=1)).isoformat()}
    assert api_ids(client.get("/api/v1/requests", offset)) == ids(world, "limited")


# --- quick ranges, in Asia/Shanghai (UTC+8): local midnight is 16:00 UTC ------------------------


def test_quick_ranges_follow_the_system_time_zone_around_midnight():
    now = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # already 07:30 on the 11th (a Wednesday) in Shanghai
    assert range_bounds("today", now=now) == (
        datetime(2026, 3, 11, tzinfo=SHANGHAI),
        datetime(2026, 3, 12, tzinfo=SHANGHAI),
    )
    assert range_bounds("yesterday", now=now) == (
        datetime(2026, 3, 10, tzinfo=SHANGHAI),
        datetime(2026, 3, 11, tzinfo=SHANGHAI),
    )
    assert range_bounds("this_week", now=now) == (
        datetime(2026, 3, 9, tzinfo=SHANGHAI),  # Monday
        datetime(2026, 3, 16, tzinfo=SHANGHAI),
    )
    assert range_bounds("this_month", now=now) == (
        datetime(2026, 3, 1, tzinfo=SHANGHAI),
        datetime(2026, 4, 1, tzinfo=SHANGHAI),
    )
    assert range_bounds("this_month", now=datetime(2026, 12, 31, 17, tzinfo=UTC))[0] == datetime(
        2027, 1, 1, tzinfo=SHANGHAI
    )  # new year's day in Shanghai while still 2026 in UTC


def test_today_and_yesterday_split_rows_at_local_midnight(client, alice, make_request_row, monkeypatch):
    midnight = datetime(2026, 3, 11, tzinfo=SHANGHAI)  # 2026-03-10 16:00 UTC
    before = make_request_row(user=alice, created_at=midnight - timedelta(seconds=30))
    after = make_request_row(user=alice, created_at=midnight + timedelta(seconds=30))
    monday = make_request_row(user=alice, created_at=datetime(2026, 3, 9, 0, 0, 5, tzinfo=SHANGHAI))
    sunday = make_request_row(user=alice, created_at=datetime(2026, 3, 8, 23, 59, 55, tzinfo=SHANGHAI))
    monkeypatch.setattr(timezone, "now", lambda: midnight + timedelta(hours=2))
    client.force_login(alice)
    assert shown(client.get("/logs/?range=today")) == {after.request_id}
    assert shown(client.get("/logs/?range=yesterday")) == {before.request_id}
    assert shown(client.get("/logs/?range=this_week")) == {monday.request_id, before.request_id, after.request_id}
    assert sunday.request_id in shown(client.get("/logs/?range=this_month"))
    api = client.get("/api/v1/requests?range=today").json()
    assert [row["request_id"] for row in api["results"]] == [after.request_id] and api["count"] == 1


def test_the_page_opens_on_the_last_seven_days_and_says_so(client, alice, world):
    client.force_login(alice)
    page = client.get("/logs/")
    assert page.context["active_range"] == "last_7_days"
    start = page.context["window_start"]
    assert timedelta(days=7) <= timezone.now() - start < timedelta(days=7, seconds=5)
    assert shown(page) == ids(world, "ok", "limited", "warned")


@pytest.mark.parametrize("page", ["/logs/", "/sessions/"])
def test_with_more_keys_than_a_list_holds_the_key_is_typed_by_prefix(client, admin_user, alice, make_key,
                                                                     make_request_row, page):  # fmt: skip
    from hub.forms import CHOICES_LIMIT
    from hub.models import ApiKey

    keys = [make_key(alice, f"k{n}").key for n in range(3)]
    ApiKey.objects.bulk_create([
        ApiKey(name=f"bulk-{n}", owner=alice, prefix=f"uhk_b{n:07d}", secret_hash=f"h{n}") for n in range(CHOICES_LIMIT)
    ])  # fmt: skip
    make_request_row(user=alice, key_id=keys[0].pk, session_id="mine", created_at=timezone.now())
    make_request_row(user=alice, key_id=keys[1].pk, session_id="other", created_at=timezone.now())
    client.force_login(admin_user)

    html = client.get(page).content.decode()
    assert '<select name="key">' not in html and 'name="key" value=""' in html  # a text box, not 203 options
    assert html.count("<option value=") < CHOICES_LIMIT + 50
    narrowed = client.get(page, {"key": keys[0].prefix}).content.decode()
    assert "mine" in narrowed and "other" not in narrowed
    refused = client.get(page, {"key": "uhk_nosuchkey"})
    assert "mine" not in refused.content.decode() and refused.context["form"].errors["key"]
    assert "mine" in client.get(page, {"key": keys[0].pk}).content.decode()  # an id still works (links use it)
