"""How figures read on every page, written once: money and durations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils.translation import gettext as _


def money(value) -> str:
    """$1,234.56; four places below a dollar; None (no price, no data) as a dash, never as $0."""
    if value is None:
        return "—"
    value = Decimal(value)
    places = 2 if abs(value) >= 1 or value == 0 else 4
    return f"${value:,.{places}f}"


def grouped(value) -> str:
    """A whole number with its thousands grouped (1,234,567); None as a dash. Cheap enough for
    a table of hundreds of rows, where the template's intcomma is not."""
    if value is None:
        return "—"
    return f"{round(value):,}"


def duration(value: timedelta | None) -> str:
    """A span as people say it: 45 s, 12 min 3 s, 2 h 5 min, 3 d 4 h."""
    if value is None:
        return "—"
    seconds = max(int(value.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": seconds}
    return _("%(s)d s") % {"s": seconds}
