"""Drill-down: every figure links to the request log filtered to the rows behind it."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.urls import get_script_prefix, reverse

from hub.models import SystemSettings


def local_minute(moment: datetime, zone: ZoneInfo | None = None) -> str:
    """The log filter's start/end format: a minute in the system time zone, e.g. 2026-11-22T00:00."""
    return moment.astimezone(zone or SystemSettings.get().zone).strftime("%Y-%m-%dT%H:%M")


def logs_url(*, start: datetime | None = None, end: datetime | None = None, zone: ZoneInfo | None = None,
             **filters) -> str:  # fmt: skip
    """/logs/?start=…&end=…&user=…: ``filters`` with a None or empty value are left out."""
    zone = zone or SystemSettings.get().zone
    params: dict[str, str] = {}
    if start is not None:
        params["start"] = local_minute(start, zone)
    if end is not None:
        params["end"] = local_minute(end, zone)
    params.update({name: str(value) for name, value in filters.items() if value not in (None, "")})
    return f"{_logs_path(get_script_prefix())}?{urlencode(params)}"


@lru_cache(maxsize=8)
def _logs_path(script_prefix: str) -> str:
    """/logs/ under the script prefix: a page links to the logs hundreds of times."""
    return reverse("logs")
