"""Chart panels: the numbers a chart draws, shaped once for the chart and for the table under it.

A panel has one x axis (every bucket of the window, empty ones included, so gaps show as
gaps and not as a line drawn across them) and one or more variants (a metric broken down by
a dimension); each variant has its series (the largest few, the rest summed as "Other") and
the same numbers as table rows, already formatted, with drill-down links to the logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cached_property
from html import escape
from zoneinfo import ZoneInfo

from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hub.formats import money
from stats.links import logs_url
from stats.periods import MAX_BUCKETS

TOP_SERIES = 8
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
            # Step in UTC (aware arithmetic in one zone is wall-clock): each real hour once, DST or not.
            moment = (moment.astimezone(UTC) + step).astimezone(zone)
        return starts
    day = local.date()
    starts = []
    while (moment := datetime.combine(day, time.min, zone)) < end and len(starts) <= MAX_BUCKETS:
        starts.append(moment)
        day += timedelta(days=1)
    return starts


def bucket_end(moment: datetime, bucket: str, zone: ZoneInfo) -> datetime:
    if bucket == "hour":
        return (moment.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
    return datetime.combine(moment.astimezone(zone).date() + timedelta(days=1), time.min, zone)


def format_value(value, unit: str) -> str:
    """A figure as the tables show it; None (no data) as a dash, never as 0."""
    if value is None:
        return "—"
    if unit == "usd":
        return money(value)
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "ms":
        return f"{round(value):,} ms"
    return f"{value:,}"


#: units whose values add up across series and buckets (a table shows their totals)
ADDITIVE_UNITS = frozenset({"count", "usd"})


@dataclass
class Series:
    label: str
    values: list  # one per bucket: int, Decimal or None
    link: str | None = None
    color: int | None = None  # palette index; None for "Other"

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
    row_labels: list[str] = field(default_factory=list)
    row_links: list[str | None] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(v for s in self.series for v in s.values if v is not None)

    @property
    def additive(self) -> bool:
        return self.unit in ADDITIVE_UNITS

    # Formatted only when a table shows them: the server renders one variant's table, charts.js
    # formats the others in the browser, so a page does not format numbers it never shows.
    @cached_property
    def rows(self) -> list[dict]:
        rows = []
        for i, label in enumerate(self.row_labels):
            column = [s.values[i] for s in self.series]
            rows.append({
                "label": label,
                "link": self.row_links[i],
                "cells": [format_value(value, self.unit) for value in column],
                "total": format_value(_sum(column), self.unit),
            })  # fmt: skip
        return rows

    @cached_property
    def body_html(self) -> str:
        """The table's rows as HTML, every value escaped: a week of hours by eight series is over a
        thousand cells, which the template language renders many times slower than this."""
        rows = []
        for row in self.rows:
            label = escape(row["label"])
            if row["link"]:
                label = f'<a href="{escape(row["link"])}">{label}</a>'
            cells = "".join(f'<td class="num">{escape(cell)}</td>' for cell in row["cells"])
            total = f'<td class="num">{escape(row["total"])}</td>' if self.additive else ""
            rows.append(f'<tr><th scope="row" class="nowrap">{label}</th>{cells}{total}</tr>')
        return mark_safe("".join(rows))  # noqa: S308 (every value escaped above)

    @cached_property
    def footer(self) -> list[str]:
        return [format_value(s.total, self.unit) for s in self.series]

    @cached_property
    def total(self) -> str:
        return format_value(_sum(s.total for s in self.series), self.unit)


@dataclass
class Panel:
    id: str
    title: str
    bucket: str
    zone: str
    x: list[datetime]
    variants: list[Variant]
    #: "bars": stacked bars (sums); "lines": one line per series (rates and times, not summable)
    kind: str = "bars"
    #: labels of metrics METRICS does not name
    metric_labels: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        """What charts.js draws (numbers, Decimal cost as float, x as unix seconds) and the other
        variants' tables it builds when the reader switches (already formatted, as the server would)."""
        first = self.variants[0] if self.variants else None
        return {
            "bucket": self.bucket,
            "kind": self.kind,
            "zone": self.zone,
            "x_label": str(_("Day") if self.bucket == "day" else _("Hour") if self.bucket == "hour" else _("Time")),
            "total_label": str(_("Total")),
            "legend_total_label": str(_("Totals for the period")),
            "x": [int(moment.timestamp()) for moment in self.x],
            "row_labels": first.row_labels if first else [],
            "row_links": first.row_links if first else [],
            "variants": {
                variant.id: {
                    "unit": variant.unit,
                    "series": [
                        {
                            "label": s.label,
                            "color": s.color,
                            "link": s.link,
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
        labels = {**METRICS, **self.metric_labels}
        return [(name, str(labels.get(name, name))) for name in seen]

    @property
    def breakdowns(self) -> list[tuple[str, str]]:
        seen = dict.fromkeys(v.breakdown for v in self.variants)
        return [(name, str(BREAKDOWNS.get(name, name))) for name in seen]


UNITS = {"requests": "count", "tokens": "count", "cost": "usd"}


def _sum(values: Iterable):
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def variants(
    cells: list[dict], *, x: list[datetime], metrics: Iterable[str], breakdown: str, key: Callable[[dict], str],
    link: Callable[[str], str | None], row_links: list[str | None], row_labels: list[str],
    unit: str | None = None, order: list[str] | None = None, top: int = TOP_SERIES,
) -> list[Variant]:  # fmt: skip
    """Each metric per bucket per ``key(cell)``, in one pass over the cells: the ``top`` largest
    series, then "Other"."""
    metrics = list(metrics)
    index = {moment: i for i, moment in enumerate(x)}
    by_key: dict[str, dict[str, list]] = {}
    for cell in cells:
        position = index.get(cell["bucket"])
        if position is None:
            continue
        name = key(cell)
        columns = by_key.get(name)
        if columns is None:
            columns = by_key[name] = {metric: [None] * len(x) for metric in metrics}
        for metric in metrics:
            value = cell[metric]
            if value is not None:
                values = columns[metric]
                values[position] = value if values[position] is None else values[position] + value
    links: dict[str, str | None] = {}

    def link_of(name: str) -> str | None:
        if name not in links:
            links[name] = link(name)
        return links[name]

    built = []
    for metric in metrics:
        metric_unit = unit or UNITS[metric]
        columns = {name: by_metric[metric] for name, by_metric in by_key.items()}
        ordered = order if order is not None else sorted(columns, key=lambda name: (-(_sum(columns[name]) or 0), name))
        kept, rest = ordered[:top], ordered[top:]
        if len(rest) == 1:
            kept, rest = ordered, []
        series = [Series(name, columns.get(name, [None] * len(x)), link_of(name), color=i)
                  for i, name in enumerate(kept)]  # fmt: skip
        if rest:
            others = [columns[name] for name in rest]
            series.append(Series(_("Other"), [_sum(column) for column in zip(*others, strict=True)]))
        # Counts are 0 in a bucket without requests; a cost stays "no data" there.
        if metric_unit == "count":
            for s in series:
                s.values = [v or 0 for v in s.values]
        built.append(Variant(f"{metric}-{breakdown}", metric, breakdown, metric_unit, series, row_labels, row_links))
    return built


def panel(
    cells: list[dict], *, panel_id: str, title: str, start: datetime, end: datetime, bucket: str, zone: ZoneInfo,
    metrics: Iterable[str] = ("requests", "cost", "tokens"), breakdowns: dict[str, dict] | None = None,
    log_filters: dict | None = None,
) -> Panel:  # fmt: skip
    """A panel over [start, end) from ``cells`` (dicts with bucket, the metrics and the breakdown
    keys). ``breakdowns`` maps a breakdown name to {"key": cell -> label, "link": label -> url}.
    A bucket's row links to its logs with ``log_filters``; None when the viewer may not read them."""
    x = bucket_starts(start, end, bucket, zone)
    window_end = end

    # A bucket's row links to its logs (the same for every variant): computed once.
    row_links = [
        None if log_filters is None
        else logs_url(start=moment, end=min(bucket_end(moment, bucket, zone), window_end), zone=zone, **log_filters)
        for moment in x
    ]  # fmt: skip
    label_format = "%m-%d %H:00" if bucket == "hour" else "%Y-%m-%d"
    row_labels = [moment.astimezone(zone).strftime(label_format) for moment in x]
    metrics = list(metrics)
    by_breakdown = {
        name: variants(cells, x=x, metrics=metrics, breakdown=name, key=spec["key"], link=spec["link"],
                       row_links=row_links, row_labels=row_labels, unit=spec.get("unit"), order=spec.get("order"))
        for name, spec in (breakdowns or {}).items()
    }  # fmt: skip
    # Metric first, then breakdown: the first variant is the one the page shows by default.
    ordered = [built[i] for i in range(len(metrics)) for built in by_breakdown.values()]
    return Panel(panel_id, title, bucket, zone.key, x, ordered)
