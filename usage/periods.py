"""Calendar arithmetic, written once: months, local days, and the log's quick ranges.

Months of partitions are UTC months; everything a person reads (today, this week, a
statement's month) is in the system time zone (DESIGN decision 3).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.models import SystemSettings

#: the quick ranges of the request log, in the system time zone; weeks start on Monday
RANGES = (
    ("today", _("Today")),
    ("yesterday", _("Yesterday")),
    ("this_week", _("This week")),
    ("this_month", _("This month")),
    ("last_7_days", _("Last 7 days")),
    ("last_30_days", _("Last 30 days")),
)


def month_of(moment: datetime | date) -> date:
    """The first day of the moment's month (a datetime's UTC month)."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return date(moment.year, moment.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def next_month(month: date) -> date:
    return add_months(month, 1)


def months_between(start: datetime | date, end: datetime | date) -> list[date]:
    """Every month from start's to end's, both included."""
    month, last = month_of(start), month_of(end)
    months = []
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def utc_month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a UTC month: a partition's range."""
    return datetime.combine(month, time.min, UTC), datetime.combine(next_month(month), time.min, UTC)


def local_month_bounds(month: date, zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month in the system time zone."""
    zone = zone or SystemSettings.get().zone
    first = month_of(month)
    return datetime.combine(first, time.min, zone), datetime.combine(next_month(first), time.min, zone)


def range_bounds(name: str, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of a quick range, in the hub's time zone (a day there is not a UTC day)."""
    zone = SystemSettings.get().zone
    now = (now or timezone.now()).astimezone(zone)
    midnight = datetime.combine(now.date(), time.min, tzinfo=zone)
    if name == "today":
        return midnight, midnight + timedelta(days=1)
    if name == "yesterday":
        return midnight - timedelta(days=1), midnight
    if name == "this_week":
        monday = midnight - timedelta(days=now.weekday())
        return monday, monday + timedelta(days=7)
    if name == "this_month":
        return local_month_bounds(now.date(), zone)
    days = {"last_7_days": 7, "last_30_days": 30}[name]
    return now - timedelta(days=days), now + timedelta(minutes=1)
