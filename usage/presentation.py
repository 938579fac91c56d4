"""How stored request values are written out, once for the detail page, the API and the CSV
export: costs as plain decimals (Python writes ``Decimal("0.0000005000")`` as ``5.000E-7`` and
a zero cost with ten places as ``0E-10``), times to the second, JSON as indented JSON."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# Values of a cost breakdown that are amounts of money (written by providers.pricing).
_BREAKDOWN_AMOUNTS = ("cost", "total")
# Attributes the detail page shows in sections of their own.
CONTENT_ATTRIBUTES = ("question", "reasoning", "answer", "tool_calls")


def plain_decimal(value: Any, *, trim: bool = False) -> str:
    """A decimal number in positional notation ("" for None). ``trim`` drops trailing zeros
    (0.0100800000 -> 0.01008) for people; without it the stored places are kept, for machines."""
    if value is None or value == "":
        return ""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if trim:
        number = number.normalize()
        if number == 0:
            return "0"
    return format(number, "f")


def plain_breakdown(breakdown: Any) -> Any:
    """A stored cost breakdown with its amounts in plain decimals (older rows hold 5.000E-7)."""
    if not isinstance(breakdown, dict):
        return breakdown
    plain = dict(breakdown)
    for name in _BREAKDOWN_AMOUNTS:
        if isinstance(plain.get(name), str):
            plain[name] = plain_decimal(plain[name])
    if isinstance(plain.get("kinds"), dict):
        plain["kinds"] = {
            kind: {**line, "cost": plain_decimal(line["cost"])} if isinstance(line, dict) and "cost" in line else line
            for kind, line in plain["kinds"].items()
        }
    return plain


def to_the_second(moment: datetime | None) -> datetime | None:
    return moment.replace(microsecond=0) if moment is not None else None


def _readable(value: Any) -> Any:
    """Tool calls keep their arguments as the JSON text the model sent; shown, it is the JSON."""
    if isinstance(value, list):
        return [_readable(item) for item in value]
    if isinstance(value, dict):
        readable = {key: _readable(item) for key, item in value.items()}
        arguments = readable.get("arguments")
        if isinstance(arguments, str) and arguments[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                readable["arguments"] = json.loads(arguments)
        return readable
    return value


def as_json(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(_readable(value), ensure_ascii=False, indent=2, default=str)


def other_attributes(attributes: Any) -> list[tuple[str, Any, bool]]:
    """(name, value, is JSON) of every stored attribute the page has no section for, by name:
    custom keys, token details, stop reasons, the provider the source reported, ..."""
    if not isinstance(attributes, dict):
        return []
    return [
        (name, value if isinstance(value, str) else as_json(value), not isinstance(value, str))
        for name, value in sorted(attributes.items())
        if name not in CONTENT_ATTRIBUTES
    ]
