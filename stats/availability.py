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

from hub.params import parse_whole
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


def provider_for(text: str | None) -> int | None:
    """The ``provider`` parameter: None when absent, else an existing provider's id
    (AvailabilityError otherwise, never a 500 for "²" or a number PostgreSQL cannot hold)."""
    if not text:
        return None
    try:
        provider_id = parse_whole(text, minimum=1)
    except ValueError:
        raise AvailabilityError("provider", "not a provider id") from None
    if not Provider.objects.filter(pk=provider_id).exists():
        raise AvailabilityError("provider", "not a provider id")
    return provider_id


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


def _epoch_minutes(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def _bucket_rows(span: int, start: datetime, end: datetime, provider_id: int | None, histogram: bool = False):
    """(provider, start in epoch minutes, requests, successes, duration sum and count, TTFT sum
    and count, p95 [, duration buckets, counts]) of ``span`` rows in [start, end)."""
    extra = ", duration_buckets, duration_counts" if histogram else ""
    sql = (
        "SELECT provider_id, (extract(epoch FROM start)::bigint / 60)::int, requests, successes, duration_sum, "  # noqa: S608
        f"duration_count, ttft_sum, ttft_count, duration_p95{extra} FROM usage_health "
        "WHERE span = %s AND start >= %s AND start < %s"
    )
    params = [span, start, end]
    if provider_id is not None:
        sql += " AND provider_id = %s"
        params.append(provider_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


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


def _window_totals(start: datetime, end: datetime, provider_id: int | None) -> dict[int, dict]:
    """Each provider's sums, requests per status and latency histograms over [start, end),
    summed in the database from the coarsest rows that cover the window."""
    parts = cover(start, end)
    if not parts:
        return {}
    where = " OR ".join(["(span = %s AND start >= %s AND start < %s)"] * len(parts))
    params = [value for part in parts for value in part]
    if provider_id is not None:
        where = f"({where}) AND provider_id = %s"
        params.append(provider_id)
    found: dict[int, dict] = {}

    def entry(provider: int) -> dict:
        if provider not in found:
            found[provider] = {"sums": (0, 0, 0, 0, 0, 0), "statuses": {}, "duration": {}, "ttft": {}}
        return found[provider]

    # One statement, one round trip: (provider, part, key, count) rows, the six sums as one
    # "sums" row with its values in a string. The names are fixed: only values are parameters.
    sql = " UNION ALL ".join([
        "SELECT provider_id, 'sums', concat_ws(',', sum(requests), sum(successes), sum(duration_sum), "  # noqa: S608
        f"sum(duration_count), sum(ttft_sum), sum(ttft_count)), 0::bigint FROM usage_health WHERE {where} "
        "GROUP BY provider_id",
        "SELECT provider_id, 'statuses', status, sum(n::bigint)::bigint FROM usage_health "  # noqa: S608
        f"CROSS JOIN jsonb_each_text(statuses) AS cell(status, n) WHERE {where} GROUP BY provider_id, status",
        *(f"SELECT provider_id, '{column}', bucket::text, sum(n)::bigint FROM usage_health "  # noqa: S608
          f"CROSS JOIN unnest({column}_buckets, {column}_counts) AS cell(bucket, n) WHERE {where} "
          "GROUP BY provider_id, bucket"
          for column in ("duration", "ttft")),
    ])  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params * 4)
        for provider, part, key, count in cursor.fetchall():
            if part == "sums":
                entry(provider)["sums"] = tuple(int(value) for value in key.split(","))
            elif part == "statuses":
                entry(provider)["statuses"][key] = count
            else:
                entry(provider)[part][int(key)] = count
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


def _point(moment: datetime, row: tuple | None) -> dict:
    if row is None:
        return {"start": moment, "requests": 0, "successes": 0, "availability": None, "duration_avg": None,
                "duration_p95": None, "ttft_avg": None}  # fmt: skip
    requests, successes, duration_sum, duration_count, ttft_sum, ttft_count, p95 = row
    return {"start": moment, "requests": requests, "successes": successes,
            "availability": _ratio(successes, requests), "duration_avg": _ratio(duration_sum, duration_count),
            "duration_p95": p95, "ttft_avg": _ratio(ttft_sum, ttft_count)}  # fmt: skip


def _compute(window: Window, provider_id: int | None, end: datetime) -> dict:
    buckets, aligned = _buckets(window, end)
    start = buckets[0]
    position = {_epoch_minutes(moment): i for i, moment in enumerate(buckets)}
    providers = Provider.objects.order_by("name")
    if provider_id is not None:
        providers = providers.filter(pk=provider_id)
    # Per provider, one row per bucket: (requests, successes, sums..., p95).
    cells: dict[int, list[tuple | None]] = {}
    for provider, minute, *values in _bucket_rows(window.bucket_minutes, start, aligned, provider_id):
        cells.setdefault(provider, [None] * len(buckets))[position[minute]] = tuple(values)
    if aligned < end:  # the newest bucket so far: its whole minutes, its p95 from their histograms
        tail: dict[int, list] = {}
        for provider, _minute, *values, buckets_, counts in _bucket_rows(1, aligned, end, provider_id, True):
            sums, histogram = tail.setdefault(provider, [[0] * 6, {}])
            for i in range(6):
                sums[i] += values[i]
            latency.merge(((buckets_, counts),), histogram)
        for provider, (sums, histogram) in tail.items():
            p95 = latency.percentiles(histogram, (0.95,))[0]
            cells.setdefault(provider, [None] * len(buckets))[-1] = (*sums, p95)
    totals = _window_totals(start, end, provider_id)
    recent = recent_health(now=end, provider_id=provider_id)
    entries = []
    for provider in providers:
        if not provider.enabled and provider.pk not in totals:
            continue  # a disabled provider without traffic has nothing to say
        found = totals.get(provider.pk) or {"sums": (0, 0, 0, 0, 0, 0), "statuses": {}, "duration": {}, "ttft": {}}
        requests, successes, duration_sum, duration_count, ttft_sum, ttft_count = found["sums"]
        recent_requests, recent_successes = recent.get(provider.pk, (0, 0))
        row = cells.get(provider.pk) or [None] * len(buckets)
        entries.append({
            "id": provider.pk,
            "name": provider.name,
            "enabled": provider.enabled,
            "status": provider_state(requests=recent_requests, successes=recent_successes),
            "status_requests": recent_requests,
            "status_availability": _ratio(recent_successes, recent_requests),
            "requests": requests,
            "successes": successes,
            "failures": requests - successes,
            "availability": _ratio(successes, requests),
            "low_confidence": requests < FEW_REQUESTS,
            "duration_ms": _latency(duration_sum, duration_count, found["duration"]),
            "ttft_ms": _latency(ttft_sum, ttft_count, found["ttft"]),
            "errors": _errors(found["statuses"]),
            "series": [_point(moment, cell) for moment, cell in zip(buckets, row, strict=True)],
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
        buckets, _aligned = _buckets(chosen, end)
        return {"window": chosen.name, "start": buckets[0], "end": end, "bucket_minutes": chosen.bucket_minutes,
                "buckets": buckets, "few_requests": FEW_REQUESTS, "relative_error": latency.RELATIVE_ERROR,
                "providers": []}  # fmt: skip
    key = f"availability:{_CACHE_VERSION}:{chosen.name}:{provider_id or 'all'}:{int(end.timestamp())}"
    found = cache.get(key)
    if found is None:
        found = _compute(chosen, provider_id, end)
        cache.set(key, found, CACHE_SECONDS)
    return found
