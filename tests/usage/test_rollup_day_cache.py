"""Closed days kept in the cache: the same answers as raw rows, never stale, never shared
between viewers who see different rows."""

import zoneinfo
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hub.models import SystemSettings
from usage import rollups
from usage.models import RollupHour
from usage.rollups import day_cache, read

from .test_rollup import BASE, as_map, reference, traffic  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# Two whole Shanghai days (16:00 UTC to 16:00 UTC), part of the day before and after, and
# ragged minutes at both ends.
START = BASE + timedelta(hours=10, minutes=17)
END = BASE + timedelta(days=3, hours=-6, minutes=-9)
WHOLE_DAYS = (BASE + timedelta(hours=16), BASE + timedelta(days=2, hours=16))


@pytest.fixture
def rolled(traffic):  # noqa: F811  (the fixture imported above)
    hour = BASE
    while hour < BASE + timedelta(days=3):
        rollups.rollup_hour(hour)
        hour += rollups.HOUR
    return traffic


def by_day(viewer, group_by=("model",), filters=None, window=(START, END)):
    return rollups.totals(viewer=viewer, start=window[0], end=window[1], group_by=group_by, bucket="day",
                          filters=filters, zone=SHANGHAI)  # fmt: skip


def rollup_reads(queries) -> list[str]:
    return [q["sql"] for q in queries if "usage_hourly" in q["sql"] and q["sql"].lstrip().startswith("SELECT")]


def test_a_second_read_takes_closed_days_from_the_cache_with_the_same_figures(rolled, admin_user):
    with CaptureQueriesContext(connection) as first_read:
        first = by_day(admin_user, window=WHOLE_DAYS)
    with CaptureQueriesContext(connection) as second_read:
        second = by_day(admin_user, window=WHOLE_DAYS)
    assert second == first
    expected = reference(rolled, admin_user, *WHOLE_DAYS, ("model",), "day", SHANGHAI, {})
    assert as_map(second, ("model",)) == expected and len(expected) == 4  # two days, two models
    # The first read summed rollup rows; the second found both days in the cache.
    assert len(rollup_reads(first_read.captured_queries)) == 1
    assert rollup_reads(second_read.captured_queries) == []


def test_partial_days_and_ragged_edges_add_up_around_the_cached_days(rolled, admin_user, alice):
    for viewer in (admin_user, alice, admin_user):
        first, second = by_day(viewer), by_day(viewer)
        assert first == second
        assert as_map(second, ("model",)) == reference(rolled, viewer, START, END, ("model",), "day", SHANGHAI, {})


def test_a_recomputed_hour_is_a_new_key_so_a_changed_day_is_never_stale(rolled, admin_user, alice, make_request_row):
    before = by_day(admin_user, group_by=())
    day = datetime(2026, 5, 11, tzinfo=SHANGHAI)
    hour = (day + timedelta(hours=5)).astimezone(UTC)
    make_request_row(user=alice, created_at=hour + timedelta(minutes=3), model="m1", input_tokens=1234)
    rollups.mark_hours([hour])
    # Dirty: the hour is read from raw rows, the day is not served whole from the cache.
    dirty = {row["bucket"]: row["requests"] for row in by_day(admin_user, group_by=())}
    rollups.rollup_hour(hour)
    rolled_again = {row["bucket"]: row["requests"] for row in by_day(admin_user, group_by=())}
    old = {row["bucket"]: row["requests"] for row in before}
    assert dirty == rolled_again
    assert rolled_again[day] == old[day] + 1
    assert {k: v for k, v in rolled_again.items() if k != day} == {k: v for k, v in old.items() if k != day}


def test_a_user_never_gets_the_days_cached_for_an_admin_or_another_user(rolled, admin_user, alice, bob):
    everyone = by_day(admin_user, group_by=("user_id",))
    assert {row["user_id"] for row in everyone} == {alice.pk, bob.pk}
    for viewer in (alice, bob, alice):
        mine = by_day(viewer, group_by=("user_id",))
        assert {row["user_id"] for row in mine} == {viewer.pk}
        expected = reference(rolled, viewer, START, END, ("user_id",), "day", SHANGHAI, {})
        assert as_map(mine, ("user_id",)) == expected


def test_groupings_are_cached_apart_and_filtered_reads_stay_exact(rolled, admin_user):
    for filters, group_by in [({}, ("model",)), ({"model": "m1"}, ("model",)), ({"endpoint": "/b"}, ()),
                              ({}, ("endpoint",)), ({"model": "m1"}, ("model",))]:  # fmt: skip
        got = by_day(admin_user, group_by=group_by, filters=filters)
        expected = reference(rolled, admin_user, START, END, group_by, "day", SHANGHAI, filters)
        assert as_map(got, group_by) == expected, (filters, group_by)


def test_a_dropped_rollup_is_read_from_raw_rows_again(rolled, admin_user):
    by_day(admin_user)
    # Retention, a restore or a hand repair forgets a day's hours: no cached day may stand in.
    day_start = datetime(2026, 5, 11, tzinfo=SHANGHAI).astimezone(UTC)
    RollupHour.objects.filter(hour__gte=day_start, hour__lt=day_start + timedelta(days=1)).delete()
    got = by_day(admin_user)
    assert as_map(got, ("model",)) == reference(rolled, admin_user, START, END, ("model",), "day", SHANGHAI, {})


def test_the_rollup_task_leaves_the_admin_dashboards_closed_days_ready(client, admin_user, alice, make_request_row):
    from django.utils import timezone

    from usage.tasks import rollups_process

    now = timezone.now()
    rows = [make_request_row(user=alice, created_at=now - timedelta(days=days, hours=1)) for days in (2, 5, 9)]
    rollups.mark_hours([row.created_at for row in rows])
    # The three written hours, then every quiet hour of the last 35 days, a few hundred a sweep.
    sweeps = []
    while processed := rollups_process():
        sweeps.append(processed)
    clean = RollupHour.objects.filter(dirty=False).count()
    assert sweeps[0] == 503 and sum(sweeps) == clean
    assert clean in (35 * 24, 35 * 24 + 1)  # + 1 if an hour ended between the sweeps
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as page:
        response = client.get("/")
    assert response.status_code == 200
    # The 30-day chart found every closed day in the cache: it summed rollup rows of today only.
    zone = SystemSettings.get().zone
    todays = {  # the page's today: the test's, or the next if midnight passed meanwhile
        datetime.combine(moment.astimezone(zone).date(), time.min, zone).astimezone(UTC).isoformat(sep=" ")
        for moment in (now, timezone.now())
    }
    day_reads = [sql for sql in rollup_reads(page.captured_queries) if "DATE_TRUNC('day'" in sql]
    assert len(day_reads) <= 1
    assert all(any(f"\"hour\" >= '{today}'" in sql for today in todays) and " OR " not in sql for sql in day_reads)
    daily = response.context["daily"].default
    assert sum(s.total or 0 for s in daily.series) == 3


def test_a_window_without_buckets_sums_the_cached_days(rolled, admin_user, alice):
    # A leaderboard's period: one row per user over the whole window, closed days from the cache.
    for viewer in (admin_user, alice):
        for window in (WHOLE_DAYS, (START, END)):
            first = rollups.totals(viewer=viewer, start=window[0], end=window[1], group_by=("user_id",),
                                   zone=SHANGHAI)  # fmt: skip
            with CaptureQueriesContext(connection) as second_read:
                second = rollups.totals(viewer=viewer, start=window[0], end=window[1], group_by=("user_id",),
                                        zone=SHANGHAI)  # fmt: skip
            assert first == second
            expected = reference(rolled, viewer, *window, ("user_id",), None, SHANGHAI, {})
            assert as_map(second, ("user_id",)) == expected
            if window == WHOLE_DAYS:
                assert rollup_reads(second_read.captured_queries) == []


def test_filtered_reads_leave_nothing_in_the_cache(rolled, admin_user):
    # Each model name typed into a filter would be a new set of keys: those reads are not kept.
    from django.core.cache import cache

    client = cache._cache.get_client()
    before = set(client.scan_iter(match=cache.make_key("*")))
    for name in ("m1", "m2", "no-such-model"):
        by_day(admin_user, filters={"model": name}, window=WHOLE_DAYS)
    assert set(client.scan_iter(match=cache.make_key("*"))) == before


def test_days_are_whole_only_where_postgresql_and_python_agree_on_midnight(rolled, admin_user, monkeypatch):
    # Time-zone rules a release apart: PostgreSQL puts midnight an hour later than Python does.
    real = day_cache._database_days

    def shifted(stamps, zone):
        days = real(stamps, zone)
        return {hour: days.get(hour - rollups.HOUR, day) for hour, day in days.items()}

    stamps = read._plan(*WHOLE_DAYS, bucket="day", zone=SHANGHAI)[0]
    assert len(day_cache._whole_days(stamps, SHANGHAI, real(stamps, SHANGHAI))) == 2
    assert day_cache._whole_days(stamps, SHANGHAI, shifted(stamps, SHANGHAI)) == {}
    monkeypatch.setattr(day_cache, "_database_days", shifted)
    got = by_day(admin_user, window=WHOLE_DAYS)
    assert as_map(got, ("model",)) == reference(rolled, admin_user, *WHOLE_DAYS, ("model",), "day", SHANGHAI, {})
