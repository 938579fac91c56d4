"""Chart panels: the numbers a chart draws, shaped once for the chart and for the table under it.

A panel has one x axis (every bucket of the window, empty ones included, so gaps show as
gaps and not as a line drawn across them) and one or more variants (a metric broken down by
a dimension); each variant has its series (the largest few, the rest summed as "Other") and
the same numbers as table rows, already formatted, with drill-down links to the logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from usage.stats.links import logs_url

TOP_SERIES = 8
MAX_BUCKETS = 1_000
METRICS = {"requests": gettext_lazy("Requests"), "cost": gettext_lazy("Cost (USD)"), "tokens": gettext_lazy("Tokens")}
BREAKDOWNS = {"model": gettext_lazy("By model"), "provider": gettext_lazy("By provider")}


def bucket_starts(start: datetime, end: datetime, bucket: str, zone: ZoneInfo) -> list[datetime]:
    """The start of every local hour or day that overlaps [start, end), in ``zone``."""
    local = start.astimezone(zone)
    if bucket == "hour":
        moment = local.replace(minute=0, second=0, microsecond=0)
        step = timedelta(hours=1)
        starts = []
        while moment < end and len(starts) <= MAX_BUCKETS:
            starts.append(moment)
            # Step in UTC so a day with a DST change still gets each real hour once.
            moment = (moment + step).astimezone(zone)
        return starts
    day = local.date()
    starts = []
    while (moment := datetime.combine(day, time.min, zone)) < end and len(starts) <= MAX_BUCKETS:
        starts.append(moment)
        day += timedelta(days=1)
    return starts


def bucket_end(moment: datetime, bucket: str, zone: ZoneInfo) -> datetime:
    if bucket == "hour":
        return (moment + timedelta(hours=1)).astimezone(zone)
    return datetime.combine(moment.astimezone(zone).date() + timedelta(days=1), time.min, zone)


def format_value(value, unit: str) -> str:
    """A figure as the tables show it; None (no data) as a dash, never as 0."""
    if value is None:
        return "—"
    if unit == "usd":
        value = Decimal(value)
        places = 2 if abs(value) >= 1 or value == 0 else 4
        return "$" + number_format(value, places, force_grouping=True)
    return number_format(value, 0, force_grouping=True)


@dataclass
class Series:
    label: str
    values: list  # one per bucket: int, Decimal or None
    link: str | None = None
    color: int | None = None  # palette index; None for "Other"
    total_text: str = "—"

    @property
    def total(self):
        present = [v for v in self.values if v is not None]
        return sum(present) if present else None


@dataclass
class Variant:
    id: str
    metric: str
    breakdown: str
    unit: str
    series: list[Series] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    total: str = "—"

    @property
    def empty(self) -> bool:
        return not any(v for s in self.series for v in s.values if v is not None)


@dataclass
class Panel:
    id: str
    title: str
    bucket: str
    zone: str
    x: list[datetime]
    variants: list[Variant]

    def as_json(self) -> dict:
        """What charts.js draws: numbers only (Decimal cost as float), x as unix seconds."""
        return {
            "bucket": self.bucket,
            "zone": self.zone,
            "x": [int(moment.timestamp()) for moment in self.x],
            "variants": {
                variant.id: {
                    "unit": variant.unit,
                    "series": [
                        {
                            "label": s.label,
                            "color": s.color,
                            "values": [None if v is None else float(v) for v in s.values],
                        }
                        for s in variant.series
                    ],
                }
                for variant in self.variants
            },
        }

    @property
    def json_id(self) -> str:
        return f"{self.id}-data"

    @property
    def default(self) -> Variant:
        return self.variants[0]

    @property
    def metrics(self) -> list[tuple[str, str]]:
        seen = dict.fromkeys(v.metric for v in self.variants)
        return [(name, str(METRICS.get(name, name))) for name in seen]

    @property
    def breakdowns(self) -> list[tuple[str, str]]:
        seen = dict.fromkeys(v.breakdown for v in self.variants)
        return [(name, str(BREAKDOWNS.get(name, name))) for name in seen]


UNITS = {"requests": "count", "tokens": "count", "cost": "usd"}


def _sum(values: Iterable):
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def variant(
    cells: list[dict], *, x: list[datetime], metric: str, breakdown: str, key: Callable[[dict], str],
    link: Callable[[str], str | None], bucket_link: Callable[[datetime], str], bucket_label: Callable[[datetime], str],
    unit: str | None = None, order: list[str] | None = None, top: int = TOP_SERIES,
) -> Variant:  # fmt: skip
    """One metric per bucket per ``key(cell)``: the ``top`` largest series, then "Other"."""
    unit = unit or UNITS[metric]
    index = {moment: i for i, moment in enumerate(x)}
    by_key: dict[str, list] = {}
    for cell in cells:
        position = index.get(cell["bucket"])
        value = cell[metric]
        if position is None:
            continue
        values = by_key.setdefault(key(cell), [None] * len(x))
        if value is not None:
            values[position] = value if values[position] is None else values[position] + value
    if order is None:
        order = sorted(by_key, key=lambda name: (-(_sum(by_key[name]) or 0), name))
    kept, rest = order[:top], order[top:]
    if len(rest) == 1:
        kept, rest = order, []
    series = [Series(name, by_key.get(name, [None] * len(x)), link(name), color=i) for i, name in enumerate(kept)]
    if rest:
        others = [by_key[name] for name in rest]
        series.append(Series(_("Other"), [_sum(column) for column in zip(*others, strict=True)]))
    # Counts are 0 in a bucket without requests; a cost stays "no data" there.
    if unit == "count":
        for s in series:
            s.values = [v or 0 for v in s.values]
    rows = []
    for i, moment in enumerate(x):
        row_total = _sum(s.values[i] for s in series)
        rows.append({
            "label": bucket_label(moment),
            "link": bucket_link(moment),
            "cells": [format_value(s.values[i], unit) for s in series],
            "total": format_value(row_total, unit),
        })  # fmt: skip
    for s in series:
        s.total_text = format_value(s.total, unit)
    result = Variant(f"{metric}-{breakdown}", metric, breakdown, unit, series, rows)
    result.total = format_value(_sum(s.total for s in series), unit)
    return result


def panel(
    cells: list[dict], *, panel_id: str, title: str, start: datetime, end: datetime, bucket: str, zone: ZoneInfo,
    metrics: Iterable[str] = ("requests", "cost", "tokens"), breakdowns: dict[str, dict] | None = None,
) -> Panel:  # fmt: skip
    """A panel over [start, end) from ``cells`` (dicts with bucket, the metrics and the breakdown
    keys). ``breakdowns`` maps a breakdown name to {"key": cell -> label, "link": label -> url}."""
    x = bucket_starts(start, end, bucket, zone)
    window_end = end

    def bucket_link(moment: datetime) -> str:
        return logs_url(start=moment, end=min(bucket_end(moment, bucket, zone), window_end))

    def bucket_label(moment: datetime) -> str:
        local = moment.astimezone(zone)
        return local.strftime("%m-%d %H:00") if bucket == "hour" else local.strftime("%Y-%m-%d")

    variants = [
        variant(cells, x=x, metric=metric, breakdown=name, key=spec["key"], link=spec["link"],
                bucket_link=bucket_link, bucket_label=bucket_label, unit=spec.get("unit"),
                order=spec.get("order"))  # fmt: skip
        for metric in metrics
        for name, spec in (breakdowns or {}).items()
    ]
    return Panel(panel_id, title, bucket, zone.key, x, variants)
