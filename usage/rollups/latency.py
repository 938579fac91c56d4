"""Latency histograms fine enough for percentiles: p50/p95/p99 within 5 % of the raw rows'.

Durations are whole milliseconds. A histogram bucket is a range of them: one bucket per
millisecond below 20 ms, then log-spaced buckets each at most 5 % wider than its lower bound,
up to PostgreSQL's integer maximum (about 400 buckets). The rollups store a histogram sparse,
as two arrays: the buckets that hold requests, ascending, and their counts.

A percentile is estimated the way ``percentile_cont`` computes it from the sorted values
(the two values around the fractional rank, interpolated), with each of those two values
estimated inside its bucket. Both estimates lie in the bucket that holds the true value, so
each is within the bucket's width of it, that is within 5 %; so is their interpolation.
Under 20 ms the buckets are single milliseconds and the result is exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import cache

EXACT_BELOW_MS = 20
RELATIVE_WIDTH = 0.05
INT4_MAX = 2**31 - 1
#: the stated bound: |estimate - percentile_cont| <= RELATIVE_ERROR * percentile_cont
RELATIVE_ERROR = RELATIVE_WIDTH


def _lower_bounds() -> tuple[int, ...]:
    bounds = list(range(EXACT_BELOW_MS))
    low = EXACT_BELOW_MS
    while low <= INT4_MAX:
        bounds.append(low)
        # The bucket holds [low, high): at most low * 5 % wider than low itself.
        low = max(low + 1, math.floor(low * (1 + RELATIVE_WIDTH)) + 1)
    return tuple(bounds)


#: bucket i holds the milliseconds [LOWER_BOUNDS[i], LOWER_BOUNDS[i + 1])
LOWER_BOUNDS = _lower_bounds()


@cache
def bounds_sql() -> str:
    """The lower bounds as a PostgreSQL array literal, for ``width_bucket(ms, bounds) - 1``."""
    return "'{" + ",".join(map(str, LOWER_BOUNDS)) + "}'::int[]"


def bucket_index(milliseconds: int) -> int:
    """Which bucket holds ``milliseconds`` (what ``width_bucket(ms, bounds) - 1`` gives in SQL)."""
    low, high = 0, len(LOWER_BOUNDS) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if LOWER_BOUNDS[middle] <= milliseconds:
            low = middle
        else:
            high = middle - 1
    return low


def _range(index: int) -> tuple[int, int]:
    """The smallest and largest millisecond bucket ``index`` holds."""
    high = LOWER_BOUNDS[index + 1] - 1 if index + 1 < len(LOWER_BOUNDS) else INT4_MAX
    return LOWER_BOUNDS[index], high


def merge(histograms: Iterable[tuple[Sequence[int], Sequence[int]]], into: dict[int, int] | None = None) -> dict:
    """Sparse histograms (buckets, counts) added into one {bucket: count}."""
    total = {} if into is None else into
    for buckets, counts in histograms:
        for index, count in zip(buckets or (), counts or (), strict=True):
            total[index] = total.get(index, 0) + count
    return total


def _value_at(ordered: list[tuple[int, int]], rank: int) -> float:
    """An estimate of the rank-th smallest value (0-based): spread evenly inside its bucket."""
    seen = 0
    for index, count in ordered:
        if rank < seen + count:
            low, high = _range(index)
            if low == high:
                return float(low)
            return low + (high - low) * (rank - seen + 0.5) / count
        seen += count
    raise ValueError("rank beyond the histogram")


def percentiles(histogram: dict[int, int], fractions: Sequence[float]) -> list[float | None]:
    """Estimates of ``percentile_cont(fraction)`` for each fraction; None for an empty histogram."""
    ordered = sorted((index, count) for index, count in histogram.items() if count)
    total = sum(count for _index, count in ordered)
    if not total:
        return [None for _fraction in fractions]
    found = []
    for fraction in fractions:
        position = fraction * (total - 1)
        below = math.floor(position)
        low = _value_at(ordered, below)
        high = _value_at(ordered, min(below + 1, total - 1)) if position > below else low
        found.append(low + (high - low) * (position - below))
    return found
