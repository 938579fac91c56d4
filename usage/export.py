"""CSV exports of the request log: streamed row by row, so memory stays flat at any size.

UTF-8 with a BOM (Excel then opens Chinese text correctly); text that a spreadsheet would
run as a formula (starting with = + - @, tab or carriage return) is prefixed with a quote;
a totals line closes the file so finance can reconcile it with the dashboard.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from hub.models import SystemSettings
from usage.models import MessageRequest

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "reasoning_tokens")
COLUMNS = (
    ("id", "id"),
    ("request_id", "request_id"),
    ("time", "created_at"),
    ("session_id", "session_id"),
    ("user_id", "user_id"),
    ("user", "user__username"),
    ("key_id", "key_id"),
    ("key", "key__name"),
    ("provider_id", "provider_id"),
    ("provider", "provider__name"),
    ("model", "model"),
    ("original_model", "original_model"),
    ("endpoint", "endpoint"),
    ("status", "status_code"),
    ("stream", "is_stream"),
    *((name, name) for name in TOKEN_FIELDS),
    ("cost_usd", "cost"),
    ("duration_ms", "duration_ms"),
    ("ttft_ms", "ttft_ms"),
    ("error", "error_message"),
)
_FIELDS = tuple(field for _header, field in COLUMNS)
_TIME = _FIELDS.index("created_at")
_COST = _FIELDS.index("cost")
_TOKENS = tuple(_FIELDS.index(name) for name in TOKEN_FIELDS)
_TEXT = tuple(
    _FIELDS.index(name)
    for name in ("request_id", "session_id", "user__username", "key__name", "provider__name", "model",
                 "original_model", "endpoint", "error_message")
)  # fmt: skip
ROWS_PER_CHUNK = 1000  # one write to the socket per thousand rows, not one per row


def safe(value):
    """A text cell a spreadsheet will show, not run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def log_csv(queryset: QuerySet[MessageRequest]) -> Iterator[str]:
    """The rows of a filtered log, newest first, then a totals line."""
    zone = SystemSettings.get().zone
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([header for header, _field in COLUMNS])
    requests = 0
    tokens = [0] * len(TOKEN_FIELDS)
    cost = None  # stays empty when no row had a price: no data is not $0
    rows = queryset.order_by("-created_at", "-id").values_list(*_FIELDS).iterator(chunk_size=10_000)
    chunk: list[str] = []
    for row in rows:
        requests += 1
        for position, index in enumerate(_TOKENS):
            tokens[position] += row[index]
        if row[_COST] is not None:
            cost = row[_COST] if cost is None else cost + row[_COST]
        cells = list(row)
        for index in _TEXT:
            if cells[index] and cells[index][0] in FORMULA_STARTS:
                cells[index] = "'" + cells[index]
        cells[_TIME] = row[_TIME].astimezone(zone).isoformat()
        chunk.append(writer.writerow(cells))
        if len(chunk) == ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)
    totals = ["TOTAL", f"{requests} requests"] + [""] * (len(COLUMNS) - 2)
    for position, index in enumerate(_TOKENS):
        totals[index] = tokens[position]
    totals[_COST] = cost
    yield writer.writerow(totals)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a month written YYYY-MM, in the hub's time zone. Raises ValueError."""
    zone = SystemSettings.get().zone
    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=zone)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def statement_csv(queryset: QuerySet[MessageRequest], month: str) -> Iterator[str]:
    """Per user, per key and per provider totals of one month; each section adds up to the month."""
    start, end = month_bounds(month)
    rows = queryset.filter(created_at__gte=start, created_at__lt=end)
    sums = {
        "requests": Count("id"),
        **{name: Sum(name) for name in TOKEN_FIELDS},
        "cost": Sum("cost"),
    }
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([f"statement {month}", f"{start.isoformat()} .. {end.isoformat()}"])
    header = ["section", "id", "name", "requests", *TOKEN_FIELDS, "cost_usd"]
    sections = (
        ("user", "user_id", "user__username"),
        ("key", "key_id", "key__name"),
        ("provider", "provider_id", "provider__name"),
    )
    for section, id_field, name_field in sections:
        yield writer.writerow([])
        yield writer.writerow(header)
        grouped = rows.values(id_field, name_field).annotate(**sums).order_by("-cost", id_field)
        for group in grouped:
            yield writer.writerow(
                [section, group[id_field] or "", safe(group[name_field] or "—"), group["requests"]]
                + [group[name] or 0 for name in TOKEN_FIELDS]
                + [group["cost"] if group["cost"] is not None else ""]
            )
    total = rows.aggregate(**sums)
    yield writer.writerow([])
    yield writer.writerow(
        ["TOTAL", "", month, total["requests"]]
        + [total[name] or 0 for name in TOKEN_FIELDS]
        + [total["cost"] if total["cost"] is not None else ""]
    )


def export_filename(prefix: str) -> str:
    return f"{prefix}-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
