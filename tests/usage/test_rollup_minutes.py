"""Minute rollups (providers' availability): exact against raw rows, idempotent, kept 8 days."""

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from providers.models import Provider
from usage.bulk import RequestRow
from usage.definitions import error_kind, is_available
from usage.models import RollupMinute, UsageHealth, UsageMinute
from usage.rollups import latency, minutes
from usage.services import requests_store

pytestmark = pytest.mark.django_db
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
BASE = minutes.floor_minute(NOW - timedelta(hours=3)).replace(minute=0)


@pytest.fixture
def providers():
    return [Provider.objects.create(name=f"p{i}", type="other") for i in range(3)]


def generate(alice, providers, *, count=600, seed=3, start=BASE, span=timedelta(hours=2)) -> list[RequestRow]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        status = rng.choice([200, 200, 200, 201, 302, 400, 429, 500, 529, None, None])
        rows.append(RequestRow(**{
            "request_id": f"r{seed}-{i}", "created_at": start + timedelta(seconds=rng.randrange(span.seconds)),
            "user_id": alice.pk, "provider_id": rng.choice(providers).pk if rng.random() < 0.95 else None,
            "model": rng.choice(["m1", "m2"]), "original_model": "m1", "endpoint": "/v1", "status_code": status,
            "duration_ms": rng.choice([None, rng.randrange(1, 120_000)]),
            "ttft_ms": rng.choice([None, rng.randrange(1, 5_000)]),
            "error_message": rng.choice(["", "read timeout", "connection reset by peer", "weird"]) if status is None
            else "",
        }))  # fmt: skip
    requests_store(rows)
    return rows


def status_key(row: RequestRow) -> str:
    return f"0:{error_kind(row.error_message)}" if row.status_code is None else str(row.status_code)


def test_the_write_path_marks_recent_minutes_only(alice, providers):
    old = NOW - minutes.KEEP - timedelta(hours=2)
    requests_store([
        RequestRow(request_id="new", created_at=NOW - timedelta(seconds=30), user_id=alice.pk, status_code=200),
        RequestRow(request_id="old", created_at=old, user_id=alice.pk, status_code=200),
    ])  # fmt: skip
    marked = list(RollupMinute.objects.filter(dirty=True).values_list("minute", flat=True))
    assert marked == [minutes.floor_minute(NOW - timedelta(seconds=30))]


def test_minute_rows_equal_raw_rows(alice, providers):
    rows = generate(alice, providers)
    assert minutes.rollup_dirty_minutes() > 0
    assert not RollupMinute.objects.filter(dirty=True).exists()
    expected = Counter()
    for row in rows:
        if row.provider_id is not None:
            kind = error_kind(row.error_message) if row.status_code is None else ""
            key = (minutes.floor_minute(row.created_at), row.provider_id, row.model, row.status_code or 0, kind)
            expected[key] += 1
    found = {
        (r.minute, r.provider_id, r.model, r.status_code, r.error_kind): r.requests for r in UsageMinute.objects.all()
    }
    assert found == dict(expected)


@pytest.mark.parametrize("span", minutes.SPANS)
def test_health_buckets_equal_raw_rows_on_random_windows(alice, providers, span):
    rows = generate(alice, providers)
    minutes.rollup_dirty_minutes()
    rng = random.Random(span)
    health = list(UsageHealth.objects.filter(span=span))
    for _ in range(10):
        first = BASE + timedelta(minutes=span * rng.randrange(0, 120 // span))
        last = first + timedelta(minutes=span * rng.randrange(1, 120 // span))
        wanted = [r for r in rows if first <= r.created_at < last and r.provider_id is not None]
        picked = [h for h in health if first <= h.start < last]
        assert sum(h.requests for h in picked) == len(wanted)
        assert sum(h.successes for h in picked) == sum(is_available(r.status_code) for r in wanted)
        statuses = Counter()
        for h in picked:
            statuses.update(h.statuses)
        assert statuses == Counter(status_key(r) for r in wanted)
        assert sum(h.duration_count for h in picked) == sum(r.duration_ms is not None for r in wanted)
        assert sum(h.duration_sum for h in picked) == sum(r.duration_ms or 0 for r in wanted)
        assert sum(h.ttft_sum for h in picked) == sum(r.ttft_ms or 0 for r in wanted)
        merged = latency.merge((h.duration_buckets, h.duration_counts) for h in picked)
        assert merged == dict(Counter(latency.bucket_index(r.duration_ms) for r in wanted if r.duration_ms is not None))


def _snapshot() -> tuple[list, list]:
    fields = [f.name for f in UsageMinute._meta.fields if f.name != "id"]
    health = [f.name for f in UsageHealth._meta.fields if f.name != "id"]
    return (
        sorted(map(repr, UsageMinute.objects.values_list(*fields))),
        sorted(map(repr, UsageHealth.objects.values_list(*health))),
    )


def test_recomputing_a_minute_gives_the_same_rows(alice, providers):
    rows = generate(alice, providers)
    minutes.rollup_dirty_minutes()
    before = _snapshot()
    touched = {minutes.floor_minute(row.created_at) for row in rows[:50]}
    for hour in {minute.replace(minute=0) for minute in touched}:
        minutes.rollup_minutes(hour, [minute for minute in touched if minute.replace(minute=0) == hour])
    assert _snapshot() == before


def test_a_minute_marked_again_during_a_recompute_stays_dirty(alice, providers):
    generate(alice, providers, count=20)
    minute = RollupMinute.objects.order_by("minute").first().minute

    def writer_marks_meanwhile(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.lstrip().startswith("WITH raw AS"):  # the recompute has read the raw rows
            minutes.mark_minutes([minute])
        return result

    with connection.execute_wrapper(writer_marks_meanwhile):
        minutes.rollup_minutes(minute.replace(minute=0))
    assert RollupMinute.objects.get(minute=minute).dirty
    minutes.rollup_minutes(minute.replace(minute=0))
    assert not RollupMinute.objects.get(minute=minute).dirty


def test_minutes_past_the_longest_window_are_dropped(alice, providers):
    generate(alice, providers, count=50)
    minutes.rollup_dirty_minutes()
    assert UsageMinute.objects.exists() and UsageHealth.objects.exists()
    minutes.drop_old_minutes(now=NOW + minutes.KEEP + timedelta(hours=2))
    assert not UsageMinute.objects.exists()
    assert not UsageHealth.objects.exists()
    assert not RollupMinute.objects.exists()


def test_backfill_rolls_up_minutes_of_rows_stored_before(alice, providers):
    from django.core.management import call_command

    rows = generate(alice, providers, count=100)
    RollupMinute.objects.all().delete()
    call_command("rollup_backfill")
    per_span = defaultdict(int)
    for h in UsageHealth.objects.all():
        per_span[h.span] += h.requests
    assert set(per_span.values()) == {sum(r.provider_id is not None for r in rows)}


def test_a_day_row_sums_its_hours_and_every_bucket_keeps_its_p95(alice, providers):
    generate(alice, providers, start=BASE.replace(hour=0) + timedelta(minutes=30), span=timedelta(hours=2))
    minutes.rollup_dirty_minutes()
    day = BASE.replace(hour=0)
    for provider in providers:
        hours = UsageHealth.objects.filter(span=60, provider=provider, start__gte=day, start__lt=day + minutes.DAY)
        (whole,) = UsageHealth.objects.filter(span=minutes.DAY_SPAN, provider=provider, start=day)
        assert whole.requests == sum(h.requests for h in hours)
        assert Counter(whole.statuses) == sum((Counter(h.statuses) for h in hours), Counter())
        assert latency.merge([(whole.ttft_buckets, whole.ttft_counts)]) == latency.merge(
            (h.ttft_buckets, h.ttft_counts) for h in hours
        )
    for row in UsageHealth.objects.all():
        histogram = latency.merge([(row.duration_buckets, row.duration_counts)])
        assert row.duration_p95 == (latency.percentiles(histogram, (0.95,))[0] if histogram else None)
