"""The log's request count (issue 14): the rollups are asked first for every filter they keep,
whatever the planner expects, and where only an estimate is possible it comes with the most
there can be."""

from datetime import timedelta

import pytest

from tests.usage import logs_world
from tests.usage.logs_world import NOW
from usage import rollups, selectors
from usage.models import MessageRequest

pytestmark = pytest.mark.django_db
world = logs_world.world


def no_counting(*args, **kwargs):
    raise AssertionError("counted the rows although the rollups keep these filters")


@pytest.fixture
def planner_expects_millions(monkeypatch):
    # What the planner says at 10M rows: past EXACT_COUNT_LIMIT, and wrong.
    monkeypatch.setattr(selectors, "_estimate", lambda queryset: 1_179_994)
    monkeypatch.setattr(selectors, "bounded_count", no_counting)


@pytest.mark.parametrize("rolled_up", [False, True], ids=["raw hours", "rolled-up hours"])
@pytest.mark.parametrize(
    ("query", "expected"),
    [("", 5), ("model=gpt-5", 1), ("status=4xx", 1), ("status=2xx", 3), ("status=5xx", 1), ("errors=true", 3),
     ("user=bob&status=5xx", 1)],
)  # fmt: skip
def test_the_rollups_answer_first_for_every_filter_they_keep(
    client, admin_user, world, planner_expects_millions, query, expected, rolled_up
):
    if rolled_up:
        for row in MessageRequest.objects.all():
            rollups.rollup_hour(rollups.floor_hour(row.created_at))
    client.force_login(admin_user)
    page = client.get(f"/logs/?{query}").context
    assert (page["count"], page["count_exact"], page["count_at_most"]) == (expected, True, None)
    api = client.get(f"/api/v1/requests?{query}").json()
    assert (api["count"], api["count_exact"], api["count_at_most"]) == (expected, True, None)


@pytest.fixture
def counting_is_too_slow(monkeypatch):
    monkeypatch.setattr(selectors, "_count_within", lambda queryset, limit, budget_ms: None)
    monkeypatch.setattr(selectors, "_estimate", lambda queryset: 1)


def test_a_single_status_code_estimate_says_the_most_there_can_be(
    client, admin_user, alice, make_request_row, counting_is_too_slow
):
    for status in (429, 429, 404, 200):
        make_request_row(user=alice, status_code=status, created_at=NOW - timedelta(hours=1))
    client.force_login(admin_user)
    page = client.get("/logs/?status=429")
    # The planner says 1; the rollups keep status classes: there are 3 rows of 4xx at most.
    context = page.context
    assert (context["count"], context["count_exact"], context["count_at_most"]) == (1, False, 3)
    assert "about 1 requests (estimated; at most 3)" in page.content.decode()
    api = client.get("/api/v1/requests?status=429").json()
    assert (api["count"], api["count_exact"], api["count_at_most"]) == (1, False, 3)
    assert len(api["results"]) == 2  # the rows themselves are all there


def test_an_estimate_is_never_above_the_most_there_can_be(client, admin_user, world, monkeypatch):
    monkeypatch.setattr(selectors, "_count_within", lambda queryset, limit, budget_ms: None)
    monkeypatch.setattr(selectors, "_estimate", lambda queryset: 40)
    client.force_login(admin_user)
    page = client.get("/logs/?session=s-1").context
    assert (page["count"], page["count_exact"], page["count_at_most"]) == (5, False, 5)


def test_when_the_rollups_say_nothing_can_match_the_count_is_an_exact_zero(
    client, admin_user, world, counting_is_too_slow
):
    client.force_login(admin_user)
    page = client.get("/logs/?status=503&model=gpt-5").context  # gpt-5 has a 429, no 5xx
    assert (page["count"], page["count_exact"]) == (0, True) and not page["page"].rows
