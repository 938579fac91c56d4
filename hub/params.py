"""One grammar per kind of parameter a page, an export or the API reads: a whole number, an id,
a moment, a month. Anything else is a form error naming the parameter (a 400 in the API), never
a 500 further down: a non-ASCII digit ("²"), a moment the calendar or PostgreSQL cannot hold
("0001-01-01T00:00" in a zone east of UTC, "+21:30"), an impossible date ("2026-02-30")."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

#: moments outside these years are refused: there is no data there, and a few days' arithmetic
#: around them (a default window, a time zone) must stay inside Python's calendar
FIRST_YEAR, LAST_YEAR = 2, 9998
_DIGITS = re.compile(r"[0-9]+")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def parse_whole(text: str, *, minimum: int = 0, maximum: int = 2**31 - 1) -> int:
    """A whole number written in ASCII digits, within [minimum, maximum]; ValueError otherwise."""
    text = (text or "").strip()
    if not _DIGITS.fullmatch(text):
        raise ValueError(f"{text!r} is not a whole number")
    value = int(text)
    if not minimum <= value <= maximum:
        raise ValueError(f"{value} is outside {minimum}..{maximum}")
    return value


def parse_moment(text: str, zone) -> datetime:
    """An ISO 8601 date-time (with or without an offset) or a date; naive ones are read in
    ``zone``. ValueError for anything else, or outside FIRST_YEAR..LAST_YEAR once in UTC."""
    raw = (text or "").strip()
    # A "+08:00" that a URL turned into a space comes back as a "+".
    moment = parse_datetime(raw.replace(" ", "+")) if ("T" in raw or ":" in raw) else None
    if moment is None and (day := parse_date(raw)) is not None:
        moment = datetime.combine(day, time.min)
    if moment is None:
        raise ValueError(f"{text!r} is not a date-time")
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=zone)
    offset = moment.utcoffset()
    if offset is not None and abs(offset.total_seconds()) >= 16 * 3600:
        raise ValueError("an offset beyond ±15:59")  # PostgreSQL's limit
    try:
        in_utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("outside the calendar") from None
    if not FIRST_YEAR <= in_utc.year <= LAST_YEAR:
        raise ValueError("outside the years the hub reads")
    return moment


def parse_month(text: str) -> date:
    """A month written YYYY-MM (the first of it); ValueError otherwise."""
    found = _MONTH.fullmatch((text or "").strip())
    if not found or not FIRST_YEAR <= int(found[1]) <= LAST_YEAR or not 1 <= int(found[2]) <= 12:
        raise ValueError(f"{text!r} is not a month written YYYY-MM")
    return date(int(found[1]), int(found[2]), 1)


class MomentField(forms.Field):
    """A form field for ``parse_moment``, in the system time zone."""

    default_error_messages = {
        "invalid": _("Give an ISO 8601 date-time, e.g. 2026-11-22T00:00:00+08:00, or a date."),
    }

    def to_python(self, value) -> datetime | None:
        if isinstance(value, datetime):
            return value
        if value in (None, "") or not str(value).strip():
            return None
        from hub.models import SystemSettings

        try:
            return parse_moment(str(value), SystemSettings.get().zone)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class WholeNumberField(forms.CharField):
    """A form field for ``parse_whole``: ASCII digits only, within its bounds."""

    default_error_messages = {"invalid": _("Give a whole number.")}

    def __init__(self, *, minimum: int = 0, maximum: int = 2**31 - 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_whole(value, minimum=self.minimum, maximum=self.maximum)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


# --- query strings of links -------------------------------------------------------------------

CURSORS = ("after", "before")


def query_without(params, *names: str, **replace: str) -> str:
    """``params`` (a request's GET) as a query string without ``names``, with ``replace`` set:
    the filters a link keeps when it changes the page, the window or the size."""
    query = params.copy()
    for name in names:
        query.pop(name, None)
    query.update(replace)
    return query.urlencode()


def cursor_link(request, name: str, cursor: str | None) -> str | None:
    """The absolute URL of the page a keyset cursor points at (``name`` "after" or "before"),
    keeping the request's filters; None when there is no such page."""
    if cursor is None:
        return None
    return request.build_absolute_uri(request.path) + "?" + query_without(request.GET, *CURSORS, **{name: cursor})
