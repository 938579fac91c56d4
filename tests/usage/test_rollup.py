"""Hourly rollups: exact against raw rows, idempotent, repairable, marked by every writer."""

import random
import zoneinfo
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import F

from usage import rollups
from usage.models import MessageRequest, RollupHour, UsageHourly

pytestmark = pytest.mark.django_db
BASE = datetime(2026, 5, 10, 0, 0, tzinfo=UTC)
ZONES = ["UTC", "Asia/Shanghai", "Asia/Kolkata", "America/New_York"]


@pytest.fixture
def traffic(alice, bob, make_request_row):
    rng = random.Random(7)
    rows = []
    for _ in range(400):
        when = BASE + timedelta(minutes=rng.randrange(0, 3 * 24 * 60), seconds=rng.randrange(60))
        status = rng.choice([200, 200, 200, 429, 500, None])
        rows.append(
            make_request_row(
                user=rng.choice([alice, bob]),
                created_at=when,
                model=rng.choice(["m1", "m2"]),
                original_model=rng.choice(["m1", "m0"]),
                endpoint=rng.choice(["/a", "/b"]),
                status_code=status,
                input_tokens=rng.randrange(1000),
                output_tokens=rng.randrange(500),
                cache_read_tokens=rng.randrange(50),
                cost=rng.choice([None, Decimal(rng.randrange(1, 10**6)) / 10**7]),
                duration_ms=rng.choice([None, rng.randrange(10, 90_000)]),
                is_stream=rng.random() < 0.5,
                error_message="boom" if status == 500 else "",
            )  # fmt: skip
        )
    return rows


def roll_some(rng: random.Random) -> None:
    """Roll up a random two thirds of the hours: the rest stay unknown to the rollups."""
    hour = BASE
    while hour < BASE + timedelta(days=3):
        if rng.random() < 0.66:
            rollups.rollup_hour(hour)
        hour += rollups.HOUR


def reference(rows, viewer, start, end, group_by, bucket, zone, filters):
    """The same sums computed in Python over raw rows."""
    out = defaultdict(lambda: defaultdict(int))
    costs = {}
    for row in rows:
        if not start <= row.created_at < end or (not viewer.is_admin and row.user_id != viewer.pk):
            continue
        if any(getattr(row, name) != value for name, value in filters.items()):
            continue
        status_class = (row.status_code or 0) // 100
        values = {**{name: getattr(row, name) for name in group_by if name != "status_class"}}
        if "status_class" in group_by:
            values["status_class"] = status_class
        local = row.created_at.astimezone(zone)
        bucket_value = None
        if bucket == "hour":
            bucket_value = local.replace(minute=0, second=0, microsecond=0)
        elif bucket == "day":
            bucket_value = local.replace(hour=0, minute=0, second=0, microsecond=0)
        key = tuple(values[name] for name in group_by) + (bucket_value,)
        sums = out[key]
        sums["requests"] += 1
        sums["errors"] += bool((row.status_code or 0) >= 400 or row.error_message)
        sums["input_tokens"] += row.input_tokens
        sums["duration_sum"] += row.duration_ms or 0
        sums["duration_count"] += row.duration_ms is not None
        if row.cost is not None:
            costs[key] = costs.get(key, Decimal(0)) + row.cost
    return {key: (dict(sums), costs.get(key)) for key, sums in out.items()}


def as_map(result, group_by):
    return {
        tuple(row[name] for name in group_by) + (row["bucket"],): (
            {name: row[name] for name in ("requests", "errors", "input_tokens", "duration_sum", "duration_count")},
            row["cost"],
        )
        for row in result
    }


def test_totals_equal_raw_rows_on_random_windows_zones_groupings_and_filters(traffic, admin_user, alice):
    rng = random.Random(11)
    roll_some(rng)
    for trial in range(40):
        zone = zoneinfo.ZoneInfo(rng.choice(ZONES))
        start = BASE + timedelta(minutes=rng.randrange(-120, 2 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(1, 3 * 24 * 60))
        group_by = tuple(
            rng.sample(["user_id", "model", "original_model", "endpoint", "status_class"], rng.randrange(0, 3))
        )
        bucket = rng.choice([None, "hour", "day"])
        filters = rng.choice([{}, {"model": "m1"}, {"endpoint": "/b"}])
        viewer = rng.choice([admin_user, alice])
        got = rollups.totals(
            viewer=viewer, start=start, end=end, group_by=group_by, bucket=bucket, filters=filters, zone=zone
        )
        expected = reference(traffic, viewer, start, end, group_by, bucket, zone, filters)
        assert as_map(got, group_by) == expected, (trial, zone, start, end, group_by, bucket, filters)


def test_whole_hours_come_from_rollups_and_only_edges_from_raw(traffic):
    rollups.rollup_hour(BASE + timedelta(hours=2))
    hour_ranges, raw = rollups.plan(BASE + timedelta(hours=1, minutes=30), BASE + timedelta(hours=3, minutes=10))
    assert hour_ranges == [(BASE + timedelta(hours=2), BASE + timedelta(hours=3))]
    assert raw == [
        (BASE + timedelta(hours=1, minutes=30), BASE + timedelta(hours=2)),
        (BASE + timedelta(hours=3), BASE + timedelta(hours=3, minutes=10)),
    ]


def _snapshot(hour):
    return sorted(UsageHourly.objects.filter(hour=hour).values_list(*rollups.GROUP_FIELDS, *rollups.SUM_FIELDS))


def test_rerun_produces_the_same_rows(traffic):
    hour = BASE + timedelta(hours=5)
    assert rollups.rollup_hour(hour)
    first = _snapshot(hour)
    assert first and rollups.rollup_hour(hour)
    assert _snapshot(hour) == first


def test_half_written_hour_is_repaired(traffic, alice):
    hour = BASE + timedelta(hours=6)
    rollups.rollup_hour(hour)
    good = _snapshot(hour)
    UsageHourly.objects.filter(hour=hour).update(requests=999_999)  # as if a crash left junk behind
    UsageHourly.objects.create(
        hour=hour, user_id=alice.pk, model="junk", original_model="", endpoint="", status_class=2, requests=1, errors=0,
        streams=0, input_tokens=0, output_tokens=0, cache_creation_tokens=0, cache_read_tokens=0, reasoning_tokens=0,
        priced=0, duration_sum=0, duration_count=0, ttft_sum=0, ttft_count=0, latency_histogram=[0],
    )  # fmt: skip
    rollups.rollup_hour(hour)
    assert _snapshot(hour) == good


def test_rejects_a_time_that_is_not_the_start_of_an_hour():
    with pytest.raises(ValueError, match="not the start of a UTC hour"):
        rollups.rollup_hour(BASE + timedelta(minutes=30))


def test_an_hour_re_marked_by_a_writer_stays_dirty_until_rolled_again(alice, make_request_row):
    hour = BASE + timedelta(hours=8)
    make_request_row(user=alice, created_at=hour + timedelta(minutes=1))  # the write path marks its hour
    assert RollupHour.objects.get(hour=hour).dirty
    rollups.rollup_hour(hour)
    clean = RollupHour.objects.get(hour=hour)
    assert not clean.dirty
    # A writer lands a row and marks the hour: the version moves on.
    make_request_row(user=alice, created_at=hour + timedelta(minutes=2))
    state = RollupHour.objects.get(hour=hour)
    assert state.dirty and state.version == clean.version + 1
    assert rollups.rollup_dirty() == 1
    assert UsageHourly.objects.get(hour=hour).requests == 2 and not RollupHour.objects.get(hour=hour).dirty


def test_a_stale_recompute_does_not_clear_a_newer_mark(alice, make_request_row):
    from django.db import connection

    hour = BASE + timedelta(hours=9)
    rollups.mark_hours([hour])
    # Simulate a writer committing between the recompute's read of the version and its update.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pg_temp.bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "UPDATE usage_rollup_hour SET version = version + 1 WHERE hour = NEW.hour; RETURN NULL; END $$"
        )
        cursor.execute("CREATE TRIGGER bump AFTER INSERT ON usage_hourly FOR EACH ROW EXECUTE FUNCTION pg_temp.bump()")
    make_request_row(user=alice, created_at=hour)
    assert rollups.rollup_hour(hour) is False
    assert RollupHour.objects.get(hour=hour).dirty


def test_users_see_only_their_own_totals(traffic, alice, bob):
    rollups.rollup_hour(BASE + timedelta(hours=1))
    start, end = BASE, BASE + timedelta(days=3)
    mine = rollups.totals(viewer=alice, start=start, end=end, group_by=("user_id",))
    assert [row["user_id"] for row in mine] == [alice.pk]
    assert mine[0]["requests"] == sum(1 for row in traffic if row.user_id == alice.pk)
    assert rollups.totals(viewer=None, start=start, end=end) == []


def test_ingest_marks_the_hours_it_wrote(client, alice, make_key, long_retention):
    created = make_key(alice)
    when = datetime.now(UTC).replace(minute=20, second=0, microsecond=0) - timedelta(hours=3)
    record = {"request_id": "r1", "created_at": when.isoformat(), "model": "m", "input_tokens": 5}
    client.post("/api/v1/ingest/records", data=[record], content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {created.secret}")  # fmt: skip
    assert RollupHour.objects.get(hour=rollups.floor_hour(when)).dirty
    assert rollups.rollup_dirty() >= 1
    assert UsageHourly.objects.get(hour=rollups.floor_hour(when)).input_tokens == 5


def test_retention_keeps_the_rollups_of_the_months_it_drops(alice, make_request_row):
    from hub.models import SystemSettings
    from usage.retention import retention_apply

    make_request_row(user=alice, created_at=datetime(2026, 1, 5, 3, tzinfo=UTC))
    rollups.rollup_hour(datetime(2026, 1, 5, 3, tzinfo=UTC))
    settings_row = SystemSettings.get()
    settings_row.log_retention_days = 30
    settings_row.save()
    retention_apply(now=datetime(2026, 4, 1, tzinfo=UTC))
    assert UsageHourly.objects.get(hour__month=1).requests == 1
    assert not MessageRequest.objects.filter(created_at__month=1).exists()


def test_under_steady_writes_an_hour_is_recomputed_at_most_once_per_rest_period(alice, make_request_row, settings):
    """Steady ingest makes its hour dirty again within a second: the rollup task leaves an hour
    it rolled up less than ROLLUP_HOUR_REST_SECONDS ago for a later run, and meanwhile totals
    read that hour's raw rows, so they stay exact."""
    from usage.tasks import rollups_process

    settings.ROLLUP_HOUR_REST_SECONDS = 30
    hour = datetime(2026, 6, 1, 10, tzinfo=UTC)
    make_request_row(user=alice, created_at=hour + timedelta(minutes=1))
    rollups_process()
    assert UsageHourly.objects.get(hour=hour).requests == 1
    make_request_row(user=alice, created_at=hour + timedelta(minutes=2))
    rollups_process()  # within the rest period: the hour waits
    assert RollupHour.objects.get(hour=hour).dirty
    assert UsageHourly.objects.get(hour=hour).requests == 1
    got = rollups.totals(viewer=alice, start=hour, end=hour + rollups.HOUR)
    assert got[0]["requests"] == 2  # read from the raw rows meanwhile
    RollupHour.objects.filter(hour=hour).update(rolled_at=F("rolled_at") - timedelta(seconds=31))
    rollups_process()  # the beat sweep, or the next write's run, once the period is over
    assert not RollupHour.objects.get(hour=hour).dirty
    assert UsageHourly.objects.get(hour=hour).requests == 2

    # A costly hour rests ten times as long as its last recompute took: 4 s of work, 40 s of rest.
    make_request_row(user=alice, created_at=hour + timedelta(minutes=3))
    RollupHour.objects.filter(hour=hour).update(
        rolled_at=F("rolled_at") - timedelta(seconds=31), took=timedelta(seconds=4)
    )
    rollups_process()
    assert UsageHourly.objects.get(hour=hour).requests == 2  # still resting
    RollupHour.objects.filter(hour=hour).update(rolled_at=F("rolled_at") - timedelta(seconds=10))
    rollups_process()
    assert UsageHourly.objects.get(hour=hour).requests == 3


@pytest.mark.django_db(transaction=True)
def test_a_recompute_that_a_writer_overtook_still_counts_for_the_rest_period(alice, make_request_row, monkeypatch):
    """Under steady writes most recomputes end with the hour dirty again: the rest period counts
    from them too, or the busiest hours would never rest."""
    from tests.concurrency import race
    from usage.rollups import compute

    hour = datetime(2026, 6, 1, 10, tzinfo=UTC)
    make_request_row(user=alice, created_at=hour + timedelta(minutes=1))
    rollups.rollup_hour(hour)
    before = RollupHour.objects.get(hour=hour).rolled_at
    rollups.mark_hours([hour])
    stage = compute._stage_fresh

    def overtaken(cursor, at):
        stage(cursor, at)
        race(rollups.mark_hours, [([hour],)])  # a writer commits a mark while the recompute works

    monkeypatch.setattr(compute, "_stage_fresh", overtaken)
    assert rollups.rollup_hour(hour) is False  # left dirty for the writer's rows
    state = RollupHour.objects.get(hour=hour)
    assert state.dirty
    assert state.rolled_at > before and state.took is not None


def test_writes_queue_at_most_one_rollup_run_per_window(
    alice, make_request_row, django_capture_on_commit_callbacks, settings
):
    """A steady ingest queued one run per batch, hundreds waiting at once; now the first write of
    a ROLLUP_QUEUE_SECONDS window queues a run (for the window's end) and the others add none."""
    from django.core.cache import cache

    from usage.tasks import ROLLUP_QUEUED

    settings.ROLLUP_QUEUE_SECONDS = 5
    hour = datetime(2026, 6, 1, 10, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        make_request_row(user=alice, created_at=hour + timedelta(minutes=1))  # opens the window
    assert UsageHourly.objects.get(hour=hour).requests == 1  # (the tests' runs are eager: no wait)
    assert cache.get(ROLLUP_QUEUED)  # for the window's length (ROLLUP_QUEUE_SECONDS)
    with django_capture_on_commit_callbacks(execute=True):
        make_request_row(user=alice, created_at=hour + timedelta(minutes=2))  # inside it: nothing queued
    assert RollupHour.objects.get(hour=hour).dirty
    cache.delete(ROLLUP_QUEUED)  # the window is over
    with django_capture_on_commit_callbacks(execute=True):
        make_request_row(user=alice, created_at=hour + timedelta(minutes=3))
    assert UsageHourly.objects.get(hour=hour).requests == 3
