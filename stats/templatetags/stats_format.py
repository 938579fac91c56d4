"""Figures as the statistics pages show them: None is "no data", never 0."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.formats import number_format

from stats.charts import format_value

register = template.Library()


@register.filter
def percent(value, places: int = 1) -> str:
    """0.9962 -> "99.6%"; None (nothing to divide by) -> "—"."""
    if value is None:
        return "—"
    return f"{number_format(Decimal(str(value)) * 100, places)}%"


@register.filter
def usd(value) -> str:
    """$1,234.56; four places below a dollar; None -> "—"."""
    return format_value(value, "usd")


@register.filter
def count(value) -> str:
    return format_value(value, "count")


@register.filter
def ms(value) -> str:
    """A duration in milliseconds, or "—"."""
    if value is None:
        return "—"
    return f"{number_format(round(value), 0, force_grouping=True)} ms"


@register.filter
def rate(value, places: int = 1) -> str:
    return "—" if value is None else number_format(round(value, places), places, force_grouping=True)
