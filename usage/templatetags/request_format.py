"""How a stored request is shown: plain decimals (never 5.000E-7 or 0E-10), JSON as JSON
(never a Python repr), times to the second. Pages, the API and the CSV export share the
functions in ``usage.presentation``; these filters put them in templates."""

from __future__ import annotations

from typing import Any

from django import template

from usage import presentation

register = template.Library()


@register.filter
def plain_decimal(value: Any) -> str:
    """0.0000005000 -> "0.0000005", 0E-10 -> "0": a cost as people write it."""
    return presentation.plain_decimal(value, trim=True)


@register.filter
def as_json(value: Any) -> str:
    """Indented JSON; tool call arguments sent as JSON text are shown as the JSON they hold."""
    return presentation.as_json(value)
