"""The one write path: every request row reaches message_request through requests_store."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from tests.concurrency import race
from usage.bulk import RequestRow
from usage.models import MessageRequest, RollupHour, UsageHourly
from usage.services import _enqueue_rollup, requests_store
from usage.signals import requests_stored

pytestmark = pytest.mark.django_db
HOUR = datetime(2026, 3, 4, 5, tzinfo=UTC)


def row(user, number: int, **fields) -> RequestRow:
    return RequestRow(request_id=f"w-{number}", created_at=HOUR + timedelta(minutes=number), user_id=user.pk,
                      model="m", input_tokens=number, **fields)  # fmt: skip


def test_listeners_hear_of_the_new_rows_only_inside_the_write_transaction(alice):
    heard = []

    def listener(sender, *, rows, **kwargs):
        heard.append(([r.request_id for r in rows], transaction.get_connection().in_atomic_block))

    requests_stored.connect(listener)
    try:
        requests_store([row(alice, 1)])
        requests_store([row(alice, 1), row(alice, 2)])  # a resend of the first beside a new one
        requests_store([row(alice, 2)])  # nothing new: nothing to tell
    finally:
        requests_stored.disconnect(listener)
    assert heard == [(["w-1"], True), (["w-2"], True)]


def test_a_failing_listener_rolls_the_rows_back_with_it(alice):
    def listener(sender, **kwargs):
        raise RuntimeError("the sessions upsert failed")

    requests_stored.connect(listener)
    try:
        with pytest.raises(RuntimeError):
            requests_store([row(alice, 3)])
    finally:
        requests_stored.disconnect(listener)
    assert not MessageRequest.objects.filter(request_id="w-3").exists()


def test_stored_hours_are_marked_and_rolled_up_on_commit(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        stored = requests_store([row(alice, 4), row(alice, 5)])
    assert [r.request_id for r in stored] == ["w-4", "w-5"]
    # The rollup task is enqueued once the rows are committed, not before.
    assert _enqueue_rollup in callbacks
    assert not RollupHour.objects.get(hour=HOUR).dirty
    assert UsageHourly.objects.get(hour=HOUR).input_tokens == 9


def test_rows_in_a_month_without_a_partition_get_one(alice):
    far = RequestRow(request_id="w-far", created_at=datetime(2031, 7, 1, tzinfo=UTC), user_id=alice.pk)
    assert requests_store([far]) == [far]
    assert MessageRequest.objects.filter(request_id="w-far").exists()


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_the_same_requests_in_opposite_orders_never_deadlock(alice):
    """A gateway's processes resending overlapping batches in their own orders: each request
    is stored once, and neither writer fails on the other's locks."""
    rows = [row(alice, number) for number in range(300)]
    stored = []
    for attempt in range(3):
        batch = rows[attempt::3]
        race(lambda batch: stored.append(len(requests_store(batch))), [(batch,), (list(reversed(batch)),)])
    assert sum(stored) == 300  # each request stored by exactly one of the two
    assert MessageRequest.objects.filter(user=alice).count() == 300
