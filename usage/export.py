"""CSV exports of the request log: streamed row by row, so memory stays flat at any size.

UTF-8 with a BOM (Excel then opens Chinese text correctly); text that a spreadsheet would
run as a formula (starting with = + - @, tab or carriage return) is prefixed with a quote;
a totals line closes the file so finance can reconcile it with the dashboard.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from hub.models import ApiKey, SystemSettings, User
from hub.params import parse_month
from providers.models import Provider
from usage.models import MessageRequest
from usage.periods import local_month_bounds
from usage.presentation import plain_decimal, to_the_second

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


class Echo:
    def write(self, value: str) -> str:
        return value


def log_csv(queryset: QuerySet[MessageRequest]) -> Iterator[str]:
    """The rows of a filtered log, newest first, then a totals line."""
    zone = SystemSettings.get().zone
    writer = csv.writer(Echo())
    yield BOM + writer.writerow([header for header, _field in COLUMNS])
    requests = 0
    tokens = [0] * len(TOKEN_FIELDS)
    cost = None  # stays empty when no row had a price: no data is not $0
    # In a transaction the server-side cursor streams as PostgreSQL produces rows; in autocommit
    # Django declares it WITH HOLD, and the server then computes every row before the first.
    with transaction.atomic():
        rows = queryset.order_by("-created_at", "-id").values_list(*_FIELDS).iterator(chunk_size=10_000)
        chunk: list[str] = []
        for row in rows:
            requests += 1
            for position, index in enumerate(_TOKENS):
                tokens[position] += row[index]
            if row[_COST] is not None:
                cost = row[_COST] if cost is None else cost + row[_COST]
            cells = list(row)
            cells[_COST] = plain_decimal(row[_COST])
            for index in _TEXT:
                if cells[index] and cells[index][0] in FORMULA_STARTS:
                    cells[index] = "'" + cells[index]
            cells[_TIME] = to_the_second(row[_TIME]).astimezone(zone).isoformat()
            chunk.append(writer.writerow(cells))
            if len(chunk) == ROWS_PER_CHUNK:
                yield "".join(chunk)
                chunk = []
        if chunk:
            yield "".join(chunk)
    totals = ["TOTAL", f"{requests} requests"] + [""] * (len(COLUMNS) - 2)
    for position, index in enumerate(_TOKENS):
        totals[index] = tokens[position]
    totals[_COST] = plain_decimal(cost)
    yield writer.writerow(totals)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a month written YYYY-MM, in the hub's time zone. Raises ValueError."""
    return local_month_bounds(parse_month(month))


_STATEMENT_SECTIONS = (("user", "user_id", 0b011), ("key", "key_id", 0b101), ("provider", "provider_id", 0b110))
_SUMMED = (*TOKEN_FIELDS, "cost")


def _statement_sums(rows: QuerySet[MessageRequest]) -> dict[int, list[tuple]]:
    """One pass over the month's rows for all three sections and the total (GROUPING SETS),
    instead of one scan per section; keyed by GROUPING(user_id, key_id, provider_id)."""
    inner, params = rows.order_by().values("user_id", "key_id", "provider_id", *_SUMMED).query.sql_with_params()
    sums = ", ".join(f"sum({name})" for name in _SUMMED)
    # Only constant column names are formatted in; the visible, filtered rows come from the ORM.
    sql = (
        f"SELECT GROUPING(user_id, key_id, provider_id), user_id, key_id, provider_id, count(*), {sums} "  # noqa: S608
        f"FROM ({inner}) AS month_rows GROUP BY GROUPING SETS ((user_id), (key_id), (provider_id), ())"
    )
    grouped: dict[int, list[tuple]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for grouping, *values in cursor.fetchall():
            grouped.setdefault(grouping, []).append(tuple(values))
    return grouped


def _names(grouped: dict[int, list[tuple]]) -> dict[str, dict]:
    ids = {section: [row[index] for row in grouped.get(bits, ()) if row[index] is not None]
           for index, (section, _field, bits) in enumerate(_STATEMENT_SECTIONS)}  # fmt: skip
    keys = ApiKey.objects.filter(pk__in=ids["key"]).select_related("owner")
    return {
        "user": {user.pk: user.username for user in User.objects.filter(pk__in=ids["user"])},
        "key": {key.pk: f"{key.name} · {key.owner.username}" for key in keys},
        "provider": dict(Provider.objects.filter(pk__in=ids["provider"]).values_list("pk", "name")),
    }


def statement_csv(queryset: QuerySet[MessageRequest], month: str) -> Iterator[str]:
    """Per user, per key and per provider totals of one month (in the system time zone), from
    the raw rows the viewer may see; each section adds up to the TOTAL line."""
    start, end = month_bounds(month)
    grouped = _statement_sums(queryset.filter(created_at__gte=start, created_at__lt=end))
    names = _names(grouped)
    writer = csv.writer(Echo())
    zone = SystemSettings.get().zone
    yield BOM + writer.writerow(["statement", month, f"{start.isoformat()} .. {end.isoformat()}", str(zone)])
    header = ["section", "id", "name", "requests", *TOKEN_FIELDS, "cost_usd"]
    for index, (section, _field, bits) in enumerate(_STATEMENT_SECTIONS):
        yield writer.writerow([])
        yield writer.writerow(header)
        # Dearest first; rows without a price (cost empty) last, however many requests.
        lines = sorted(
            grouped.get(bits, ()), key=lambda row: (row[9] is None, -(row[9] or 0), -row[3], row[index] or 0)
        )
        for row in lines:
            # row: user_id, key_id, provider_id, requests, *tokens, cost
            ident = row[index]
            label = names[section].get(ident, "—") if ident is not None else "—"
            yield writer.writerow(
                [section, ident if ident is not None else "", safe(label), row[3]]
                + [value or 0 for value in row[4:9]]
                + [plain_decimal(row[9])]
            )
    total = (grouped.get(0b111) or [(None, None, None, 0, *([None] * len(_SUMMED)))])[0]
    yield writer.writerow([])
    yield writer.writerow(
        ["TOTAL", "", month, total[3]] + [value or 0 for value in total[4:9]] + [plain_decimal(total[9])]
    )


def export_filename(prefix: str) -> str:
    return f"{prefix}-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
