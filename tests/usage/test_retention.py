import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from hub.models import SystemSettings
from sessions_app.models import Session
from usage import partitions, rollups
from usage.models import MessageRequest, RetentionState, UsageHourly, UsageHourlyBrief, UsageTotal
from usage.retention import expired_months, retention_apply, retention_cutoff

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 12, 30, tzinfo=UTC)
# 90 days before 2026-06-15 12:30, to the hour: 2026-03-17 12:00.
CUTOFF = datetime(2026, 3, 17, 12, tzinfo=UTC)


@pytest.fixture
def ninety_days(db):
    row = SystemSettings.get()
    row.log_retention_days = 90
    row.save()


def kept_ids() -> set[int]:
    return set(MessageRequest.objects.values_list("pk", flat=True))


def test_the_cutoff_is_the_hour_the_retention_period_ago(ninety_days):
    assert retention_cutoff(now=NOW) == CUTOFF


def test_rows_older_than_the_period_go_and_every_row_inside_it_stays(alice, make_request_row, ninety_days):
    old_month = make_request_row(user=alice, created_at=datetime(2026, 2, 27, tzinfo=UTC))
    expired = [
        make_request_row(user=alice, created_at=moment)
        for moment in (datetime(2026, 3, 2, tzinfo=UTC), CUTOFF - timedelta(microseconds=1))
    ]
    inside = [
        make_request_row(user=alice, created_at=moment)
        for moment in (CUTOFF, CUTOFF + timedelta(minutes=1), datetime(2026, 6, 1, tzinfo=UTC))
    ]
    purge = retention_apply(now=NOW)
    assert purge.dropped == ["message_request_p2026_02"]
    assert purge.deleted == 2
    assert kept_ids() == {row.pk for row in inside}
    assert old_month.pk not in kept_ids() and not {row.pk for row in expired} & kept_ids()
    assert datetime(2026, 2, 1).date() not in partitions.existing_partitions()
    assert RetentionState.objects.get().purged_before == CUTOFF


def test_rollups_and_totals_of_purged_hours_stay(alice, make_request_row, ninety_days):
    make_request_row(user=alice, created_at=datetime(2026, 2, 27, 5, tzinfo=UTC), input_tokens=7)
    make_request_row(user=alice, created_at=datetime(2026, 3, 10, 5, tzinfo=UTC), input_tokens=11)
    make_request_row(user=alice, created_at=datetime(2026, 6, 1, tzinfo=UTC), input_tokens=13)
    rollups.rollup_dirty()
    before = {
        "fine": sorted(UsageHourly.objects.values_list("hour", "requests", "input_tokens")),
        "brief": sorted(UsageHourlyBrief.objects.values_list("hour", "requests", "input_tokens")),
        "totals": rollups.cumulative.read(group_by=()),
    }
    assert before["totals"][0]["input_tokens"] == 31
    retention_apply(now=NOW)
    assert MessageRequest.objects.count() == 1
    assert sorted(UsageHourly.objects.values_list("hour", "requests", "input_tokens")) == before["fine"]
    assert sorted(UsageHourlyBrief.objects.values_list("hour", "requests", "input_tokens")) == before["brief"]
    assert rollups.cumulative.read(group_by=()) == before["totals"]
    # A purged hour marked again (a backfill) keeps its rollup: recomputed, it would be zero.
    rollups.mark_range(datetime(2026, 3, 10, 5, tzinfo=UTC), datetime(2026, 3, 10, 5, tzinfo=UTC))
    rollups.rollup_dirty()
    assert rollups.cumulative.read(group_by=()) == before["totals"]
    assert UsageHourly.objects.get(hour=datetime(2026, 3, 10, 5, tzinfo=UTC)).input_tokens == 11


def test_a_dirty_hour_is_rolled_up_before_its_rows_go(alice, make_request_row, ninety_days):
    hour = datetime(2026, 3, 10, 5, tzinfo=UTC)
    make_request_row(user=alice, created_at=hour, input_tokens=7)
    with connection.cursor() as cursor:  # rows written by an old version, never rolled up
        cursor.execute("DELETE FROM usage_hourly; DELETE FROM usage_hourly_brief; DELETE FROM usage_rollup_hour")
        cursor.execute("DELETE FROM usage_total; DELETE FROM usage_total_route")
    retention_apply(now=NOW)
    assert UsageHourly.objects.get(hour=hour).input_tokens == 7
    assert UsageTotal.objects.get().input_tokens == 7


def test_retention_is_a_no_op_when_nothing_expired(alice, make_request_row, ninety_days):
    make_request_row(user=alice, created_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert expired_months(now=NOW) == {}
    purge = retention_apply(now=NOW)
    assert (purge.dropped, purge.deleted) == ([], 0)
    assert MessageRequest.objects.count() == 1


def test_a_dropped_month_is_recreated_when_rows_for_it_arrive_again(alice, make_request_row, ninety_days):
    make_request_row(user=alice, created_at=datetime(2026, 1, 10, tzinfo=UTC))
    assert "message_request_p2026_01" in retention_apply(now=NOW).dropped
    make_request_row(user=alice, created_at=datetime(2026, 1, 11, tzinfo=UTC))
    assert MessageRequest.objects.filter(created_at__month=1).count() == 1


def test_sessions_are_rebuilt_from_the_rows_that_remain(alice, make_request_row, ninety_days):
    make_request_row(user=alice, created_at=CUTOFF - timedelta(hours=3), session_id="s1", input_tokens=5)
    make_request_row(user=alice, created_at=CUTOFF + timedelta(hours=1), session_id="s1", input_tokens=9)
    retention_apply(now=NOW)
    session = Session.objects.get(session_id="s1")
    assert (session.requests, session.input_tokens) == (1, 9)
    assert session.first_request_at == CUTOFF + timedelta(hours=1)


def test_an_interrupted_purge_resumes_where_it_stopped(alice, make_request_row, ninety_days):
    moments = [CUTOFF - timedelta(hours=hours) for hours in (30, 20, 10)]
    for moment in moments:
        make_request_row(user=alice, created_at=moment)
    inside = make_request_row(user=alice, created_at=CUTOFF + timedelta(hours=1))

    class Stop(Exception):
        pass

    def stop_after_first_slice(upper):
        raise Stop

    with pytest.raises(Stop):
        retention_apply(now=NOW, interrupt=stop_after_first_slice)
    # The first hour's slice committed (rows and state together); the rest waits.
    assert MessageRequest.objects.count() == 3
    assert RetentionState.objects.get().purged_before == moments[0] + timedelta(hours=1)
    assert retention_apply(now=NOW).deleted == 2
    assert kept_ids() == {inside.pk}


def test_dry_run_says_what_would_go_and_changes_nothing(alice, make_request_row, ninety_days, capsys):
    make_request_row(user=alice, created_at=datetime(2026, 2, 27, tzinfo=UTC))
    make_request_row(user=alice, created_at=datetime(2026, 3, 2, tzinfo=UTC))
    purge = retention_apply(now=NOW, dry_run=True)
    assert (purge.dropped, purge.deleted) == (["message_request_p2026_02"], 1)
    assert MessageRequest.objects.count() == 2
    call_command("purge_logs", "--dry-run")
    assert "would" in capsys.readouterr().out
    assert MessageRequest.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_purges_at_once_leave_exactly_the_rows_inside_the_period(alice, make_request_row, ninety_days):
    for hours in range(1, 6):
        make_request_row(user=alice, created_at=CUTOFF - timedelta(hours=hours))
    inside = make_request_row(user=alice, created_at=CUTOFF + timedelta(minutes=5))
    barrier, results, failures = threading.Barrier(2), [], []

    def purge():
        try:
            barrier.wait()
            results.append(retention_apply(now=NOW))
        except Exception as error:  # noqa: BLE001 (reported below)
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sum(result.deleted for result in results) == 5
    assert kept_ids() == {inside.pk}
    # Outside a test's transaction the boundary partition is vacuumed after its rows go.
    assert any(result.vacuumed == ["message_request_p2026_03"] for result in results)


def test_purged_hours_nobody_rolled_up_get_a_clean_state_once(alice, make_request_row, ninety_days):
    make_request_row(user=alice, created_at=CUTOFF - timedelta(hours=1))
    retention_apply(now=NOW)
    since = CUTOFF - timedelta(hours=6)
    assert rollups.rollup_unknown(since, CUTOFF) == 5  # the quiet hours before the one with rows
    assert rollups.rollup_unknown(since, CUTOFF) == 0


def _fill_march(user, count: int, *, before_cutoff: int) -> None:
    """``count`` rows in March 2026, ``before_cutoff`` of them older than the cutoff."""
    from usage.bulk import RequestRow
    from usage.services import requests_store

    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC)
    old_step, new_step = (CUTOFF - start) / before_cutoff, (end - CUTOFF) / (count - before_cutoff)
    moments = [start + old_step * n for n in range(before_cutoff)]
    moments += [CUTOFF + new_step * n for n in range(count - before_cutoff)]
    requests_store([
        RequestRow(request_id=f"fill-{n}", created_at=moment, user_id=user.pk, model="claude-sonnet-4-5",
                   user_agent="a client with a long enough user agent " * 4)
        for n, moment in enumerate(moments)
    ])  # fmt: skip


def _heap(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(%s)", [name])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_partition_mostly_purged_is_rewritten_to_its_live_rows(alice, ninety_days):
    _fill_march(alice, 4000, before_cutoff=3400)
    before = _heap("message_request_p2026_03")
    purge = retention_apply(now=NOW)
    assert purge.deleted == 3400 and purge.compacted == ["message_request_p2026_03"]
    assert MessageRequest.objects.count() == 600
    assert _heap("message_request_p2026_03") < before * 0.3  # the disk space went back, not only freed inside


@pytest.mark.django_db(transaction=True)
def test_a_partition_still_mostly_live_is_only_vacuumed(alice, ninety_days):
    _fill_march(alice, 4000, before_cutoff=800)
    before = _heap("message_request_p2026_03")
    purge = retention_apply(now=NOW)
    assert purge.deleted == 800 and purge.vacuumed == ["message_request_p2026_03"] and purge.compacted == []
    assert _heap("message_request_p2026_03") == before  # freed inside, for a rewrite another day
