"""Template filters every app's pages share (see ``hub.formats``)."""

import json

from django import template

from hub import formats

register = template.Library()


@register.filter
def usd(value) -> str:
    return formats.money(value)


@register.filter
def grouped(value) -> str:
    return formats.grouped(value)


@register.filter
def duration(value) -> str:
    return formats.duration(value)


@register.filter
def get_item(mapping, key):
    """mapping[key] in a template, None when it is missing."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def pretty_json(value) -> str:
    """A stored JSON value (tool calls, arguments) indented for reading, not Python's repr."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
