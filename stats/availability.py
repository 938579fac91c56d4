"""Selectors of the providers' availability: health from real traffic, read from minute buckets.

Every figure comes from ``usage_health`` (the minute rollups summed per provider over 1, 5, 15
or 60 minutes and UTC days): a window reads its bucket size only, about a hundred rows per
provider whatever its length (each with its p95 stored), plus the whole minutes of its newest
bucket while that one is still filling; its percentiles come from histograms merged in the
database over the fewest rows that cover it (a week: its whole days, the hours around them).

Windows end at the last whole UTC minute: the current minute is not read. Buckets start on
UTC hours and multiples of their size, so a window starts at its first bucket. A minute
written to since its last recompute shows its last computed state until the rollup worker
catches up (seconds).

The figures are the same for every admin, so they are kept in the cache for a few seconds per
window, provider and minute: a page that refreshes itself costs the database the same for one
viewer or fifty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from hub.visibility import sees_everything
from providers.models import Provider
from providers.services import provider_state
from usage.definitions import ERROR_KIND_LABELS
from usage.models import UsageHealth
from usage.rollups import latency
from usage.rollups.minutes import LEVELS, floor_minute


@dataclass(frozen=True)
class Window:
    name: str
    length: timedelta
    bucket_minutes: int


#: the windows and their bucket sizes: 15 to 168 points
WINDOWS = {
    window.name: window
    for window in (
        Window("15m", timedelta(minutes=15), 1),
        Window("1h", timedelta(hours=1), 1),
        Window("6h", timedelta(hours=6), 5),
        Window("24h", timedelta(hours=24), 15),
        Window("7d", timedelta(days=7), 60),
    )
}
DEFAULT_WINDOW = "1h"
#: a provider without a request for this long has an unknown status
STATUS_WINDOW = timedelta(minutes=15)
#: below this many requests a window's figures are only a hint (p99 of 30 requests is one request)
FEW_REQUESTS = 100
FRACTIONS = (0.5, 0.95, 0.99)
CACHE_SECONDS = 10
_CACHE_VERSION = 1


class AvailabilityError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def window_for(name: str | None) -> Window:
    window = WINDOWS.get(name or DEFAULT_WINDOW)
    if window is None:
        raise AvailabilityError("window", f"one of {', '.join(WINDOWS)}")
    return window


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _latency(total: int, count: int, histogram: dict[int, int]) -> dict:
    p50, p95, p99 = latency.percentiles(histogram, FRACTIONS)
    return {"avg": _ratio(total, count), "p50": p50, "p95": p95, "p99": p99, "count": count}


def _errors(statuses: dict[str, int]) -> list[dict]:
    """The failures by status code, then by error kind where no status came back, most first."""
    errors = []
    for status, requests in statuses.items():
        if status.startswith("0:"):
            kind = status[2:]
            errors.append({"status": None, "kind": kind, "label": str(ERROR_KIND_LABELS.get(kind, kind)),
                           "requests": requests})  # fmt: skip
        elif not 200 <= int(status) < 400:
            errors.append({"status": int(status), "kind": None, "label": status, "requests": requests})
    return sorted(errors, key=lambda e: (-e["requests"], e["status"] or 0, e["kind"] or ""))


class _Sums:
    """One provider's sums over a bucket or a window."""

    __slots__ = ("duration_count", "duration_p95", "duration_sum", "requests", "statuses", "successes", "ttft_count",
                 "ttft_sum")  # fmt: skip

    def __init__(self) -> None:
        self.requests = self.successes = 0
        self.duration_sum = self.duration_count = self.ttft_sum = self.ttft_count = 0
        self.duration_p95: float | None = None
        self.statuses: dict[str, int] = {}

    def add(self, row: tuple) -> None:
        (_provider, _start, requests, successes, statuses, duration_sum, duration_count, ttft_sum, ttft_count,
         duration_p95) = row[:10]  # fmt: skip
        self.requests += requests
        self.successes += successes
        self.duration_sum += duration_sum
        self.duration_count += duration_count
        self.ttft_sum += ttft_sum
        self.ttft_count += ttft_count
        self.duration_p95 = duration_p95  # right for a bucket of one row; a merged bucket sets its own
        for status, count in statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count


_COLUMNS = ("provider_id", "start", "requests", "successes", "statuses", "duration_sum", "duration_count", "ttft_sum",
            "ttft_count", "duration_p95")  # fmt: skip


def _rows(span: int, start: datetime, end: datetime, provider_id: int | None, *extra: str):
    rows = UsageHealth.objects.filter(span=span, start__gte=start, start__lt=end)
    if provider_id is not None:
        rows = rows.filter(provider_id=provider_id)
    return rows.order_by().values_list(*_COLUMNS, *extra)


def _floor(moment: datetime, span: int) -> datetime:
    """``moment`` down to a multiple of ``span`` minutes since the epoch (UTC days for 1440)."""
    return moment - timedelta(minutes=int(moment.timestamp() // 60) % span)


def cover(start: datetime, end: datetime, levels=LEVELS) -> list[tuple[int, datetime, datetime]]:
    """(span, from, until): the fewest ``usage_health`` rows that exactly cover [start, end) of
    whole minutes, the coarsest level first (a week: its whole days, the hours around them...)."""
    span, *finer = levels
    first = _floor(start, span)
    first = first if first == start else first + timedelta(minutes=span)
    last = _floor(end, span)
    if first >= last:
        return cover(start, end, finer) if finer else []
    parts = [(span, first, last)]
    if finer:
        parts = cover(start, first, finer) + parts + cover(last, end, finer)
    return parts


def _histograms(start: datetime, end: datetime, provider_id: int | None) -> dict[int, dict[str, dict[int, int]]]:
    """Each provider's latency histograms over [start, end), merged in the database from the
    coarsest rows that cover the window."""
    parts = cover(start, end)
    if not parts:
        return {}
    where = " OR ".join(["(span = %s AND start >= %s AND start < %s)"] * len(parts))
    params = [value for part in parts for value in part]
    if provider_id is not None:
        where = f"({where}) AND provider_id = %s"
        params.append(provider_id)
    found: dict[int, dict[str, dict[int, int]]] = {}
    with connection.cursor() as cursor:
        for column in ("duration", "ttft"):
            cursor.execute(
                f"SELECT provider_id, bucket, sum(n)::bigint FROM usage_health "  # noqa: S608 (fixed names)
                f"CROSS JOIN unnest({column}_buckets, {column}_counts) AS cell(bucket, n) "
                f"WHERE {where} GROUP BY provider_id, bucket",
                params,
            )
            for provider, bucket, count in cursor.fetchall():
                found.setdefault(provider, {"duration": {}, "ttft": {}})[column][bucket] = count
    return found


def recent_health(*, now: datetime | None = None, provider_id: int | None = None) -> dict[int, tuple[int, int]]:
    """{provider id: (requests, successes)} over the last 15 whole minutes: what a status is
    computed from."""
    end = floor_minute(now or timezone.now())
    found: dict[int, tuple[int, int]] = {}
    rows = UsageHealth.objects.filter(span=1, start__gte=end - STATUS_WINDOW, start__lt=end)
    if provider_id is not None:
        rows = rows.filter(provider_id=provider_id)
    for provider, requests, successes in rows.order_by().values_list("provider_id", "requests", "successes"):
        seen = found.get(provider, (0, 0))
        found[provider] = (seen[0] + requests, seen[1] + successes)
    return found


def _buckets(window: Window, end: datetime) -> tuple[list[datetime], datetime]:
    """The window's bucket starts (aligned on UTC hours, as the rollups keep them) and where the
    whole buckets end: after it, the newest bucket is still filling (read from its minutes)."""
    step = timedelta(minutes=window.bucket_minutes)
    aligned = end - timedelta(minutes=end.minute % window.bucket_minutes)
    points = int(window.length / step)
    first = end - window.length if aligned == end else aligned - step * (points - 1)
    return [first + step * i for i in range(points)], aligned


def _compute(window: Window, provider_id: int | None, end: datetime) -> dict:
    buckets, aligned = _buckets(window, end)
    start = buckets[0]
    position = {moment: i for i, moment in enumerate(buckets)}
    providers = Provider.objects.order_by("name")
    if provider_id is not None:
        providers = providers.filter(pk=provider_id)
    totals: dict[int, _Sums] = {}
    cells: dict[int, list[_Sums | None]] = {}

    def add(provider: int, moment: datetime, row: tuple) -> _Sums:
        totals.setdefault(provider, _Sums()).add(row)
        cell = cells.setdefault(provider, [None] * len(buckets))
        index = position[moment]
        if cell[index] is None:
            cell[index] = _Sums()
        cell[index].add(row)
        return cell[index]

    for row in _rows(window.bucket_minutes, start, aligned, provider_id):
        add(row[0], row[1], row)
    if aligned < end:  # the newest bucket so far: its whole minutes, its p95 from their histograms
        tail: dict[int, tuple[_Sums, dict]] = {}
        for row in _rows(1, aligned, end, provider_id, "duration_buckets", "duration_counts"):
            cell = add(row[0], aligned, row)
            tail[row[0]] = (cell, latency.merge((row[10:12],), tail.get(row[0], (None, {}))[1]))
        for cell, histogram in tail.values():
            cell.duration_p95 = latency.percentiles(histogram, (0.95,))[0]
    histograms = _histograms(start, end, provider_id)
    recent = recent_health(now=end, provider_id=provider_id)
    entries = []
    for provider in providers:
        if not provider.enabled and provider.pk not in totals:
            continue  # a disabled provider without traffic has nothing to say
        sums = totals.get(provider.pk) or _Sums()
        merged = histograms.get(provider.pk, {})
        recent_requests, recent_successes = recent.get(provider.pk, (0, 0))
        series = []
        for moment, cell in zip(buckets, cells.get(provider.pk) or [None] * len(buckets), strict=True):
            if cell is None:
                series.append({"start": moment, "requests": 0, "successes": 0, "availability": None,
                               "duration_avg": None, "duration_p95": None, "ttft_avg": None})  # fmt: skip
                continue
            series.append({
                "start": moment, "requests": cell.requests, "successes": cell.successes,
                "availability": _ratio(cell.successes, cell.requests),
                "duration_avg": _ratio(cell.duration_sum, cell.duration_count),
                "duration_p95": cell.duration_p95,
                "ttft_avg": _ratio(cell.ttft_sum, cell.ttft_count),
            })  # fmt: skip
        entries.append({
            "id": provider.pk,
            "name": provider.name,
            "enabled": provider.enabled,
            "status": provider_state(requests=recent_requests, successes=recent_successes),
            "status_requests": recent_requests,
            "status_availability": _ratio(recent_successes, recent_requests),
            "requests": sums.requests,
            "successes": sums.successes,
            "failures": sums.requests - sums.successes,
            "availability": _ratio(sums.successes, sums.requests),
            "low_confidence": sums.requests < FEW_REQUESTS,
            "duration_ms": _latency(sums.duration_sum, sums.duration_count, merged.get("duration", {})),
            "ttft_ms": _latency(sums.ttft_sum, sums.ttft_count, merged.get("ttft", {})),
            "errors": _errors(sums.statuses),
            "series": series,
        })  # fmt: skip
    return {
        "window": window.name,
        "start": start,
        "end": end,
        "bucket_minutes": window.bucket_minutes,
        "buckets": buckets,
        "few_requests": FEW_REQUESTS,
        "relative_error": latency.RELATIVE_ERROR,
        "providers": entries,
    }


def provider_availability(*, viewer, window: str | None = None, provider_id: int | None = None,
                          now: datetime | None = None) -> dict:  # fmt: skip
    """Per provider over ``window`` (see WINDOWS): its status now (last 15 minutes), requests,
    availability, latency and TTFT average and percentiles, failures by status or error kind,
    and a series per bucket. Admins only: anyone else gets no providers."""
    chosen = window_for(window)
    end = floor_minute(now or timezone.now())
    if not sees_everything(viewer):
        return {**_compute(chosen, -1, end), "providers": []}
    key = f"availability:{_CACHE_VERSION}:{chosen.name}:{provider_id or 'all'}:{int(end.timestamp())}"
    found = cache.get(key)
    if found is None:
        found = _compute(chosen, provider_id, end)
        cache.set(key, found, CACHE_SECONDS)
    return found
