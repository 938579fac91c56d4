"""Rollups under concurrency: workers racing on the same hours leave the numbers one run gives."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from tests.concurrency import race
from usage import rollups
from usage.models import RollupHour, UsageHourly, UsageHourlyBrief

pytestmark = pytest.mark.django_db(transaction=True)
HOUR = datetime(2026, 6, 1, 10, tzinfo=UTC)


def snapshot(hour):
    fine = sorted(UsageHourly.objects.filter(hour=hour).values_list(*rollups.GROUP_FIELDS, *rollups.SUM_FIELDS))
    brief = sorted(
        UsageHourlyBrief.objects.filter(hour=hour).values_list("user_id", "provider_id", "original_model", "requests")
    )
    return fine, brief


@pytest.fixture
def hour_of_traffic(alice, bob, make_request_row):
    for i in range(60):
        make_request_row(
            user=alice if i % 3 else bob, created_at=HOUR + timedelta(seconds=59 * i), model=("m1", "m2")[i % 2],
            status_code=(200, 200, 429)[i % 3], cost=Decimal(i) / 1000, input_tokens=i, output_tokens=2 * i,
        )  # fmt: skip


def test_concurrent_recomputes_of_one_hour_equal_a_single_run(hour_of_traffic):
    assert rollups.rollup_hour(HOUR)
    expected = snapshot(HOUR)
    UsageHourly.objects.filter(hour=HOUR).delete()
    race(rollups.rollup_hour, [(HOUR,)] * 6)
    assert snapshot(HOUR) == expected
    assert sum(UsageHourly.objects.filter(hour=HOUR).values_list("requests", flat=True)) == 60
    assert not RollupHour.objects.get(hour=HOUR).dirty


def test_concurrent_sweeps_over_many_dirty_hours_roll_each_hour_once(alice, make_request_row):
    hours = [HOUR + timedelta(hours=i) for i in range(8)]
    for hour in hours:
        make_request_row(user=alice, created_at=hour + timedelta(minutes=5), input_tokens=7)
    rollups.mark_hours(hours)
    race(rollups.rollup_dirty, [()] * 4)
    assert not RollupHour.objects.filter(hour__in=hours, dirty=True).exists()
    assert (
        list(UsageHourly.objects.filter(hour__in=hours).order_by("hour").values_list("requests", flat=True)) == [1] * 8
    )


def test_rows_written_while_workers_race_are_never_lost(alice, make_request_row):
    """Writers keep landing rows and marking the hour while workers recompute it: once the last
    worker is done and the dirty hour swept, the rollup holds every row."""
    make_request_row(user=alice, created_at=HOUR + timedelta(minutes=1))

    def write(i):
        make_request_row(user=alice, created_at=HOUR + timedelta(minutes=2, seconds=i))
        rollups.mark_hours([HOUR])

    race(lambda job, i: write(i) if job == "write" else rollups.rollup_hour(HOUR),
         [("write", i) for i in range(4)] + [("roll", i) for i in range(4)])  # fmt: skip
    rollups.rollup_dirty()
    assert UsageHourly.objects.get(hour=HOUR).requests == 5
    got = rollups.totals(viewer=alice, start=HOUR, end=HOUR + rollups.HOUR)
    assert got[0]["requests"] == 5


def test_a_rollup_between_a_writers_insert_and_its_commit_leaves_the_hour_dirty(alice, make_request_row):
    """The write path marks its hours last, just before it commits, so that writers of one hour
    queue on the mark only for their commits. A rollup that runs after the rows went in but
    before they are committed sees none of them and may call the hour clean; the writer's mark,
    committed with the rows, makes it dirty again, and the next rollup counts every row."""
    from usage.signals import requests_stored

    make_request_row(user=alice, created_at=HOUR + timedelta(minutes=1))
    rollups.rollup_dirty()
    rolled_meanwhile = []

    def roll_before_commit(sender, rows, **kwargs):
        # Inside the writer's transaction: its rows are in, not committed, the hour not yet marked.
        thread = threading.Thread(
            target=lambda: (rolled_meanwhile.append(rollups.rollup_hour(HOUR)), connection.close())
        )
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the rollup waited for the writer: the hour was marked before the commit"

    requests_stored.connect(roll_before_commit, dispatch_uid="test-roll-before-commit")
    try:
        make_request_row(user=alice, created_at=HOUR + timedelta(minutes=2))
    finally:
        requests_stored.disconnect(dispatch_uid="test-roll-before-commit")
    assert rolled_meanwhile == [True]  # it saw one row and called the hour clean
    rollups.rollup_dirty()  # (the tests' eager worker may have run it on commit already)
    assert UsageHourly.objects.get(hour=HOUR).requests == 2
    assert not RollupHour.objects.get(hour=HOUR).dirty
