from datetime import UTC, date, datetime

import pytest
from django.db import connection

from usage import partitions, periods
from usage.models import MessageRequest

pytestmark = pytest.mark.django_db


def _partition_of(row: MessageRequest) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM message_request WHERE id = %s AND created_at = %s",
            [row.pk, row.created_at],
        )
        return cursor.fetchone()[0]


def test_rows_land_in_the_partition_of_their_utc_month(alice, make_request_row):
    # 2025-03-31 20:00 UTC is already April in Asia/Shanghai: partitions follow UTC.
    row = make_request_row(user=alice, created_at=datetime(2025, 3, 31, 20, 0, tzinfo=UTC))
    assert _partition_of(row) == "message_request_p2025_03"


def test_partitions_are_created_on_demand_and_only_once(db):
    assert partitions.ensure_partitions([date(2024, 1, 15), date(2024, 2, 1)]) == [
        "message_request_p2024_01",
        "message_request_p2024_02",
    ]
    partitions.forget_known()
    assert partitions.ensure_partitions([date(2024, 1, 1)]) == []
    assert date(2024, 1, 1) in partitions.existing_partitions()


def test_months_ahead_are_ready_before_rows_arrive(db):
    partitions.ensure_ahead(now=datetime(2030, 11, 5, tzinfo=UTC), months_ahead=3)
    existing = partitions.existing_partitions()
    for month in (date(2030, 11, 1), date(2030, 12, 1), date(2031, 1, 1), date(2031, 2, 1)):
        assert month in existing


def test_the_same_request_stored_twice_keeps_one_row(alice, make_request_row):
    from usage.bulk import COLUMNS, RequestRow
    from usage.services import requests_store

    row = make_request_row(user=alice)
    values = RequestRow(*MessageRequest.objects.filter(pk=row.pk).values_list(*COLUMNS).get())
    assert requests_store([values, values]) == []
    assert MessageRequest.objects.filter(request_id=row.request_id).count() == 1


def test_month_arithmetic_crosses_years():
    assert periods.add_months(date(2025, 11, 1), 3) == date(2026, 2, 1)
    assert periods.months_between(datetime(2025, 12, 31, tzinfo=UTC), date(2026, 1, 1)) == [
        date(2025, 12, 1),
        date(2026, 1, 1),
    ]


def test_two_bulk_writes_in_one_transaction_store_only_their_own_rows(alice, make_request_row):
    from django.db import transaction

    from usage.bulk import COLUMNS, RequestRow
    from usage.services import requests_store

    first = make_request_row(user=alice)
    values = RequestRow(*MessageRequest.objects.filter(pk=first.pk).values_list(*COLUMNS).get())
    MessageRequest.objects.filter(pk=first.pk).delete()
    second = values._replace(request_id="second")
    with transaction.atomic():
        assert requests_store([second]) == [second]  # the first call's staged row is not moved again
    assert list(MessageRequest.objects.values_list("request_id", flat=True)) == ["second"]
