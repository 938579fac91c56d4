"""Read queries over requests. Every one starts from ``visible_to(viewer)``."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet

from usage.models import MessageRequest


def request_log(*, viewer) -> QuerySet[MessageRequest]:
    return MessageRequest.objects.visible_to(viewer).live().select_related("user", "key", "provider")


# --- the request log: a window, keyset pages, bounded counts ---------------------------------

PAGE_SIZES = (20, 50, 100)
DEFAULT_PAGE_SIZE = 50
EXACT_COUNT_LIMIT = 100_000


def log_filterset(*, viewer, data, request=None):
    """The log's filters over what the viewer may see; choices are limited to what they may see."""
    from types import SimpleNamespace

    from usage.filters import MessageRequestFilterSet

    request = request or SimpleNamespace(user=viewer)
    return MessageRequestFilterSet(data, queryset=request_log(viewer=viewer), request=request)


def encode_cursor(row: MessageRequest) -> str:
    raw = f"{row.created_at.isoformat()}|{row.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Raises ValueError for anything that is not a cursor this hub made."""
    padded = cursor + "=" * (-len(cursor) % 4)
    moment, _sep, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
    when = datetime.fromisoformat(moment)
    if when.tzinfo is None:
        raise ValueError("cursor without a zone")
    return when, int(pk)


@dataclass
class LogPage:
    rows: list[MessageRequest]
    next_cursor: str | None
    previous_cursor: str | None


def log_page(queryset: QuerySet[MessageRequest], *, after: str = "", before: str = "", size: int) -> LogPage:
    """One page, newest first, found by position (created_at, id) instead of OFFSET, so page
    1,000 costs what page 1 does."""
    if before:
        when, pk = decode_cursor(before)
        # The plain bound on created_at gives the index a range to start from; the OR settles ties.
        newer = queryset.filter(created_at__gte=when).filter(Q(created_at__gt=when) | Q(id__gt=pk))
        newer = newer.order_by("created_at", "id")
        rows = list(newer[: size + 1])
        has_more = len(rows) > size
        rows = list(reversed(rows[:size]))
        return LogPage(
            rows=rows,
            next_cursor=encode_cursor(rows[-1]) if rows else None,
            previous_cursor=encode_cursor(rows[0]) if rows and has_more else None,
        )
    ordered = queryset.order_by("-created_at", "-id")
    if after:
        when, pk = decode_cursor(after)
        ordered = ordered.filter(created_at__lte=when).filter(Q(created_at__lt=when) | Q(id__lt=pk))
    rows = list(ordered[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    return LogPage(
        rows=rows,
        next_cursor=encode_cursor(rows[-1]) if rows and has_more else None,
        previous_cursor=encode_cursor(rows[0]) if rows and after else None,
    )


def _estimate(queryset: QuerySet) -> int:
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def bounded_count(queryset: QuerySet, limit: int = EXACT_COUNT_LIMIT) -> tuple[int, bool]:
    """(count, exact): exact up to ``limit`` rows, past it the planner's estimate, so no page
    ever waits on COUNT(*) over millions of rows. The planner is asked first (a millisecond):
    counting even ``limit`` rows exactly costs tens of milliseconds, so when it expects more
    than the limit its estimate is shown, labelled as one."""
    estimate = _estimate(queryset)
    if estimate > limit:
        return estimate, False
    exact = queryset.order_by()[: limit + 1].count()
    if exact <= limit:
        return exact, True
    return max(exact, estimate), False
