"""The periods grammar of the statistics, one definition for the pages and the API.

``period`` is today, week, month, all or custom; ``start``/``end`` are ISO 8601 date-times
(``2026-11-22T00:00:00+08:00``, ``2026-11-22T00:00``) or dates; without an offset they are
read in the system time zone, and a bare date is that day's midnight there. Giving either
makes the period custom. ``bucket`` is hour or day, at most ``MAX_BUCKETS`` of them. A bad
value is a form error naming the parameter: a message on the page, a 400 in the API.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from hub.models import SystemSettings
from hub.params import MomentField
from usage import partitions
from usage.periods import range_bounds

PERIODS = ("today", "week", "month", "all", "custom")
BUCKETS = ("hour", "day")
MAX_BUCKETS = 1_000
_RANGE_OF = {"today": "today", "week": "this_week", "month": "this_month"}


class StatsError(ValueError):
    """A bad parameter: ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def period_window(period: str, *, start: datetime | None = None, end: datetime | None = None):
    """[start, end) of a period in the system time zone."""
    if period in _RANGE_OF:
        return range_bounds(_RANGE_OF[period])
    if period == "all":
        months = partitions.existing_partitions()
        first = min(months) if months else timezone.now().date()
        start = datetime(first.year, first.month, 1, tzinfo=SystemSettings.get().zone)
        return start, timezone.now() + timedelta(hours=1)
    if period == "custom":
        if start is None or end is None:
            raise StatsError("start", "a custom period needs start and end")
        if start >= end:
            raise StatsError("end", "must be after start")
        return start, end
    raise StatsError("period", f"one of {', '.join(PERIODS)}")


def check_bucket(start: datetime, end: datetime, bucket: str) -> None:
    """A bucket is hour or day, and a series has at most MAX_BUCKETS of them."""
    if bucket not in BUCKETS:
        raise StatsError("bucket", f"one of {', '.join(BUCKETS)}")
    count = (end - start) / (timedelta(hours=1) if bucket == "hour" else timedelta(days=1))
    if count > MAX_BUCKETS:
        raise StatsError("bucket", f"{count:,.0f} {bucket}s is more than {MAX_BUCKETS:,}: use days or a shorter period")


class PeriodForm(forms.Form):
    period = forms.ChoiceField(choices=[(p, p) for p in PERIODS], required=False)
    start = MomentField(required=False)
    end = MomentField(required=False)
    bucket = forms.ChoiceField(choices=[(b, b) for b in BUCKETS], required=False)

    def __init__(self, data=None, *, default: str, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.default = default

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        period = cleaned.get("period") or self.default
        if start or end:
            period = "custom"  # dates typed in make a custom range, whatever period the page was on
        cleaned["period"] = period
        if self.errors:
            return cleaned
        try:
            cleaned["start"], cleaned["end"] = period_window(period, start=start, end=end)
        except StatsError as error:
            self.add_error(error.field if error.field in self.fields else None, error.reason)
        return cleaned

    def window(self) -> tuple[str, datetime, datetime]:
        """(period, start, end) as asked for; the default period's when the form is invalid."""
        if self.is_valid():
            return self.cleaned_data["period"], self.cleaned_data["start"], self.cleaned_data["end"]
        return (self.default, *period_window(self.default))

    def error_list(self) -> list[str]:
        return [f"{name}: {message}" for name, messages in self.errors.items() for message in messages]
