"""Days and hours are the system time zone's: a day in Asia/Shanghai is not a UTC day."""

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest

from hub.models import SystemSettings
from stats import selectors
from stats.charts import bucket_starts
from usage import rollups

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")


def use_zone(name: str) -> None:
    row = SystemSettings.get()
    row.timezone = name
    row.save()


@pytest.fixture
def around_midnight(admin_user, alice, make_request_row):
    """Requests either side of 16:00 UTC = midnight in Shanghai, and of 18:30 UTC = midnight in Kolkata."""
    moments = [
        datetime(2026, 3, 10, 15, 59, tzinfo=UTC),  # 3-10 23:59 Shanghai
        datetime(2026, 3, 10, 16, 1, tzinfo=UTC),  # 3-11 00:01 Shanghai
        datetime(2026, 3, 10, 18, 20, tzinfo=UTC),  # 3-10 23:50 Kolkata
        datetime(2026, 3, 10, 18, 40, tzinfo=UTC),  # 3-11 00:10 Kolkata
    ]
    for moment in moments:
        make_request_row(user=alice, created_at=moment, input_tokens=1)
    hour = datetime(2026, 3, 10, 12, tzinfo=UTC)
    while hour < datetime(2026, 3, 11, 0, tzinfo=UTC):
        rollups.rollup_hour(hour)
        hour += rollups.HOUR
    return moments


def day_counts(viewer, start, end):
    stats = selectors.token_statistics(viewer=viewer, start=start, end=end, bucket="day")
    return {row["bucket"].date().isoformat(): row["input_tokens"] for row in stats["series"]}


def test_a_shanghai_day_starts_at_16_utc(admin_user, around_midnight):
    use_zone("Asia/Shanghai")
    start = datetime(2026, 3, 10, tzinfo=SHANGHAI)
    assert day_counts(admin_user, start, start + timedelta(days=2)) == {"2026-03-10": 1, "2026-03-11": 3}


def test_the_same_rows_bucket_differently_in_utc(admin_user, around_midnight):
    use_zone("UTC")
    start = datetime(2026, 3, 10, tzinfo=UTC)
    assert day_counts(admin_user, start, start + timedelta(days=2)) == {"2026-03-10": 4}


def test_a_half_hour_zone_is_exact_through_raw_edges(admin_user, around_midnight):
    """Kolkata's midnight falls inside a UTC hour: that hour is read from raw rows."""
    use_zone("Asia/Kolkata")
    start = datetime(2026, 3, 10, tzinfo=KOLKATA)
    assert day_counts(admin_user, start, start + timedelta(days=2)) == {"2026-03-10": 3, "2026-03-11": 1}


def test_today_is_the_system_zones_today(admin_user, alice, make_request_row):
    use_zone("Asia/Shanghai")
    now = datetime(2026, 3, 11, 1, 0, tzinfo=SHANGHAI)  # 3-10 17:00 UTC
    make_request_row(user=alice, created_at=datetime(2026, 3, 10, 15, 30, tzinfo=UTC))  # yesterday in Shanghai
    make_request_row(user=alice, created_at=datetime(2026, 3, 10, 16, 30, tzinfo=UTC))  # today in Shanghai
    assert selectors.overview(viewer=admin_user, now=now)["requests"] == 1


def test_bucket_starts_follow_the_zone_through_a_dst_change():
    new_york = zoneinfo.ZoneInfo("America/New_York")
    start = datetime(2026, 3, 8, tzinfo=new_york)  # the day clocks go forward: 23 hours
    hours = bucket_starts(start, start.astimezone(UTC) + timedelta(hours=23), "hour", new_york)
    assert len(hours) == 23 and len({h.astimezone(UTC) for h in hours}) == 23
    fall_back = datetime(2026, 11, 1, tzinfo=new_york)  # 25 hours: 01:00 comes twice
    assert len(bucket_starts(fall_back, fall_back.astimezone(UTC) + timedelta(hours=25), "hour", new_york)) == 25
    days = bucket_starts(start, datetime(2026, 3, 10, tzinfo=new_york), "day", new_york)
    assert [d.isoformat() for d in days] == ["2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"]
    assert bucket_starts(datetime(2026, 3, 10, 18, 30, tzinfo=UTC), datetime(2026, 3, 11, 18, 30, tzinfo=UTC),
                         "day", KOLKATA)[0] == datetime(2026, 3, 11, tzinfo=KOLKATA)  # fmt: skip
