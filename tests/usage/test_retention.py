from datetime import UTC, datetime

import pytest

from hub.models import SystemSettings
from usage import partitions
from usage.models import MessageRequest
from usage.retention import expired_months, retention_apply

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def ninety_days(db):
    row = SystemSettings.get()
    row.log_retention_days = 90
    row.save()


def test_only_months_wholly_older_than_retention_are_dropped(alice, make_request_row, ninety_days):
    # 90 days before 2026-06-15 12:00 is 2026-03-17 12:00: February has expired, March has not.
    old = make_request_row(user=alice, created_at=datetime(2026, 2, 27, tzinfo=UTC))
    boundary = make_request_row(user=alice, created_at=datetime(2026, 3, 2, tzinfo=UTC))
    recent = make_request_row(user=alice, created_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert retention_apply(now=NOW) == ["message_request_p2026_02"]
    assert set(MessageRequest.objects.values_list("pk", flat=True)) == {boundary.pk, recent.pk}
    assert old.pk not in MessageRequest.objects.values_list("pk", flat=True)
    assert datetime(2026, 2, 1).date() not in partitions.existing_partitions()


def test_retention_is_a_no_op_when_nothing_expired(alice, make_request_row, ninety_days):
    make_request_row(user=alice, created_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert expired_months(now=NOW) == {}
    assert retention_apply(now=NOW) == []
    assert MessageRequest.objects.count() == 1


def test_a_dropped_month_is_recreated_when_rows_for_it_arrive_again(alice, make_request_row, ninety_days):
    make_request_row(user=alice, created_at=datetime(2026, 1, 10, tzinfo=UTC))
    assert "message_request_p2026_01" in retention_apply(now=NOW)
    make_request_row(user=alice, created_at=datetime(2026, 1, 11, tzinfo=UTC))
    assert MessageRequest.objects.filter(created_at__month=1).count() == 1
