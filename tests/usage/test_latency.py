"""Latency percentiles from the minute buckets: within the stated error of percentile_cont."""

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from providers.models import Provider
from usage.bulk import RequestRow
from usage.models import UsageHealth
from usage.rollups import latency, minutes
from usage.services import requests_store

START = minutes.floor_minute(datetime.now(UTC) - timedelta(hours=2)).replace(minute=0)
FRACTIONS = (0.5, 0.95, 0.99)


def uniform(rng):
    return rng.randrange(1, 30_000)


def long_tailed(rng):
    return min(int(rng.lognormvariate(7, 1.2)) + 1, 2**31 - 1)


def bimodal(rng):
    return int(rng.gauss(300, 40)) if rng.random() < 0.7 else int(rng.gauss(9_000, 1_500))


def test_sql_and_python_agree_on_every_bucket_edge(db):
    edges = sorted({0, *latency.LOWER_BOUNDS[:200], *(b - 1 for b in latency.LOWER_BOUNDS[1:200]), 2**31 - 1})
    with connection.cursor() as cursor:
        sql = f"SELECT v, width_bucket(v, {latency.bounds_sql()}) - 1 FROM unnest(%s::int[]) AS v"  # noqa: S608
        cursor.execute(sql, [edges])
        assert {value: index for value, index in cursor.fetchall()} == {v: latency.bucket_index(v) for v in edges}


def test_every_bucket_is_at_most_5_percent_wide():
    for index, low in enumerate(latency.LOWER_BOUNDS[:-1]):
        highest = latency.LOWER_BOUNDS[index + 1] - 1
        assert highest - low <= latency.RELATIVE_ERROR * low
    assert len(latency.LOWER_BOUNDS) < 500  # smallint indexes, small histograms


@pytest.mark.django_db
@pytest.mark.parametrize("distribution", [uniform, long_tailed, bimodal])
@pytest.mark.parametrize("count", [7, 200, 5_000])
def test_percentiles_are_within_the_stated_error_of_percentile_cont(alice, distribution, count):
    provider = Provider.objects.create(name="p", type="other")
    rng = random.Random(count)
    rows = [
        RequestRow(request_id=f"r{i}", created_at=START + timedelta(seconds=rng.randrange(3600)), user_id=alice.pk,
                   provider_id=provider.pk, status_code=200, duration_ms=max(distribution(rng), 0),
                   ttft_ms=max(distribution(rng) // 10, 0))
        for i in range(count)
    ]  # fmt: skip
    requests_store(rows)
    minutes.rollup_dirty_minutes()
    health = list(UsageHealth.objects.filter(span=60))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY duration_ms), "
            "percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY ttft_ms) FROM message_request",
            [list(FRACTIONS), list(FRACTIONS)],
        )
        exact_durations, exact_ttfts = cursor.fetchone()
    for column, exact in (("duration", exact_durations), ("ttft", exact_ttfts)):
        histogram = latency.merge((getattr(h, f"{column}_buckets"), getattr(h, f"{column}_counts")) for h in health)
        for estimate, truth in zip(latency.percentiles(histogram, FRACTIONS), exact, strict=True):
            assert math.isclose(estimate, truth, rel_tol=latency.RELATIVE_ERROR, abs_tol=1e-9), (column, truth)


def test_percentiles_of_an_empty_histogram_are_none():
    assert latency.percentiles({}, FRACTIONS) == [None, None, None]


def test_small_values_are_exact():
    histogram = {latency.bucket_index(v): 1 for v in (3, 5, 9)}
    assert latency.percentiles(histogram, (0.5, 0.0, 1.0)) == [5.0, 3.0, 9.0]
