"""The closed-day cache of the rollup reads.

A local day whose every hour is clean has day sums that only a recompute of one of its hours
can change, and a recompute gives that hour a new stamp. So a day's sums are kept in the
cache under a key made of everything that shapes them (whose rows, grouping, sums, zone, day)
and of its hours' stamps: a changed hour is a new key, never a stale answer. A 30-day chart
then reads one day of rollups instead of thirty. Filtered reads are not kept (every value
typed in would be new keys), nor days whose midnight PostgreSQL's time-zone rules place
elsewhere than Python's.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.core.cache import cache
from django.db import connection

from usage.rollups.shape import HOUR

_VERSION = 2
DAY_CACHE_SECONDS = 7 * 24 * 3600


@dataclass
class DayLookup:
    """What the cache had for a window's clean hours, and what is left to read."""

    rows: list[dict]  # the cached days' rows, bucketed per local day
    missing_hours: list[datetime]  # hours of the days the cache lacks, and of days not wholly clean
    day_of: dict[datetime, date]
    to_fill: dict[date, str] = field(default_factory=dict)  # whole days to keep once read: their keys


def _database_days(stamps: dict[datetime, str | None], zone: zoneinfo.ZoneInfo) -> dict[datetime, date]:
    """Each hour's local day as PostgreSQL sees it. Its time-zone rules are the ones that
    bucket the rows, and may be a release apart from Python's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM moment)::bigint, to_char(moment AT TIME ZONE %s, 'YYYYMMDD')::int "
            "FROM generate_series(%s::timestamptz, %s::timestamptz, interval '1 hour') AS moment",
            [zone.key, min(stamps), max(stamps)],
        )
        return {
            datetime.fromtimestamp(epoch, UTC): date(day // 10_000, day // 100 % 100, day % 100)
            for epoch, day in cursor.fetchall()
        }


def _whole_days(stamps: dict[datetime, str | None], zone, day_of: dict[datetime, date]) -> dict[date, list[datetime]]:
    """Local days whose every hour is in ``stamps`` with a known stamp: their hours. A day counts
    only where PostgreSQL's and Python's rules agree on where it starts and ends."""
    days: dict[date, list[datetime]] = {}
    for hour in sorted(stamps):
        days.setdefault(day_of[hour], []).append(hour)
    whole = {}
    for day, hours in days.items():
        day_start = datetime.combine(day, time.min, zone).astimezone(UTC)
        day_end = datetime.combine(day + timedelta(days=1), time.min, zone).astimezone(UTC)
        if hours[0] == day_start and len(hours) == (day_end - day_start) // HOUR and all(map(stamps.get, hours)):
            whole[day] = hours
    return whole


def _day_key(shape: str, day: date, hours: list[datetime], stamps: dict[datetime, str]) -> str:
    material = "|".join((shape, day.isoformat(), *(f"{hour.timestamp():.0f}={stamps[hour]}" for hour in hours)))
    return f"rollup-day:{_VERSION}:{hashlib.blake2b(material.encode(), digest_size=20).hexdigest()}"


def lookup(stamps: dict[datetime, str], zone: zoneinfo.ZoneInfo, shape: str) -> DayLookup:
    """The closed days of ``stamps`` (clean hours: their stamps) found in the cache, and the
    hours the caller must read from the rollups (then hand their rows to ``store``)."""
    day_of = _database_days(stamps, zone)
    whole = _whole_days(stamps, zone, day_of)
    keys = {day: _day_key(shape, day, hours, stamps) for day, hours in whole.items()}
    found = cache.get_many(list(keys.values()))
    cached_days = {day for day, key in keys.items() if key in found}
    return DayLookup(
        rows=[row for day in sorted(cached_days) for row in found[keys[day]]],
        missing_hours=[hour for hour in stamps if day_of[hour] not in cached_days],
        day_of=day_of,
        to_fill={day: key for day, key in keys.items() if day not in cached_days},
    )


def store(found: DayLookup, fresh: list[dict], zone: zoneinfo.ZoneInfo) -> None:
    """Keep the whole days among ``fresh`` rows (read per local day) for the next reader."""
    if not found.to_fill:
        return
    computed: dict[date, list[dict]] = {day: [] for day in found.to_fill}
    for row in fresh:
        day = row["bucket"].astimezone(zone).date()
        if day in computed:
            computed[day].append(row)
    cache.set_many({found.to_fill[day]: rows for day, rows in computed.items()}, DAY_CACHE_SECONDS)
