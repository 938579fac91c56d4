"""Read queries over requests. Every one starts from ``visible_to(viewer)``.

The request log: a FilterSet over ``request_log``, keyset pages on (created_at, id) that cost
the same on page 1,000 as on page 1, and counts that never COUNT(*) millions of rows (exact
from the hourly rollups where the filters allow, bounded and time-boxed elsewhere)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from hub.params import parse_whole
from hub.visibility import audience
from usage import rollups
from usage.filters import MessageRequestFilterSet
from usage.models import MessageRequest, RollupHour


def request_log(*, viewer) -> QuerySet[MessageRequest]:
    return MessageRequest.objects.visible_to(viewer).live().select_related("user", "key", "provider")


# --- the request log: a window, keyset pages, bounded counts ---------------------------------

PAGE_SIZES = (20, 50, 100)
DEFAULT_PAGE_SIZE = 50


def page_size(raw: str | None) -> int:
    """The page size a URL asks for: one of PAGE_SIZES; ValueError for anything else."""
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    size = parse_whole(raw, minimum=1, maximum=max(PAGE_SIZES))
    if size not in PAGE_SIZES:
        raise ValueError(f"{size} is not one of {PAGE_SIZES}")
    return size


EXACT_COUNT_LIMIT = 100_000
# What an exact count may cost a page before the planner's estimate is shown instead.
COUNT_BUDGET_MS = 30
# Past this many hours not rolled up yet (read raw) a count from the rollups is not cheap.
MAX_DIRTY_HOURS = 6
# Filters the hourly rollup groups by: (FilterSet field, rollup and row field).
_ROLLUP_FIELDS = (
    ("user", "user_id"),
    ("key", "key_id"),
    ("provider", "provider_id"),
    ("model", "model"),
    ("original_model", "original_model"),
    ("endpoint", "endpoint"),
)
SUGGESTIONS_TTL = 300
SUGGESTIONS_WINDOW = timedelta(days=7)  # the default window: what a first visit shows


def log_filterset(*, viewer, data, request=None) -> MessageRequestFilterSet:
    """The log's filters over what the viewer may see; choices are limited to what they may see."""
    request = request or SimpleNamespace(user=viewer)
    return MessageRequestFilterSet(data, queryset=request_log(viewer=viewer), request=request)


def encode_cursor(row, field: str = "created_at") -> str:
    raw = f"{getattr(row, field).isoformat()}|{row.pk}"
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
class KeysetPage:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None


def keyset_page(queryset: QuerySet, *, field: str = "created_at", after: str = "", before: str = "",
                size: int) -> KeysetPage:  # fmt: skip
    """One page, newest first by (``field``, id), found by position instead of OFFSET, so page
    1,000 costs what page 1 does. ``after``/``before``: cursors of the rows around it."""
    if before:
        when, pk = decode_cursor(before)
        # The plain bound on the field gives the index a range to start from; the OR settles ties.
        newer = queryset.filter(**{f"{field}__gte": when}).filter(Q(**{f"{field}__gt": when}) | Q(id__gt=pk))
        rows = list(newer.order_by(field, "id")[: size + 1])
        has_more = len(rows) > size
        rows = list(reversed(rows[:size]))
        return KeysetPage(
            rows=rows,
            next_cursor=encode_cursor(rows[-1], field) if rows else None,
            previous_cursor=encode_cursor(rows[0], field) if rows and has_more else None,
        )
    ordered = queryset.order_by(f"-{field}", "-id")
    if after:
        when, pk = decode_cursor(after)
        ordered = ordered.filter(**{f"{field}__lte": when}).filter(Q(**{f"{field}__lt": when}) | Q(id__lt=pk))
    rows = list(ordered[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        rows=rows,
        next_cursor=encode_cursor(rows[-1], field) if rows and has_more else None,
        previous_cursor=encode_cursor(rows[0], field) if rows and after else None,
    )


def log_page(queryset: QuerySet[MessageRequest], *, after: str = "", before: str = "", size: int) -> KeysetPage:
    return keyset_page(queryset, after=after, before=before, size=size)


def _estimate(queryset: QuerySet) -> int:
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def _count_within(queryset: QuerySet, limit: int, budget_ms: int) -> int | None:
    """COUNT of at most ``limit + 1`` rows, or None when it would take longer than ``budget_ms``.

    The timeout is SET LOCAL inside a transaction (a savepoint within a request's own), put
    back after the count; a cancelled count rolls back just that, leaving the rest usable."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)",
                [f"{budget_ms}ms"],
            )
            previous = cursor.fetchone()[0]
            count = queryset.order_by()[: limit + 1].count()
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
    except OperationalError:  # cancelled by the timeout
        return None
    return count


def bounded_count(
    queryset: QuerySet, limit: int = EXACT_COUNT_LIMIT, budget_ms: int = COUNT_BUDGET_MS
) -> tuple[int, bool]:
    """(count, exact): exact up to ``limit`` rows, past it the planner's estimate, so no page
    ever waits on COUNT(*) over millions of rows. The planner is asked first (a millisecond):
    counting even ``limit`` rows exactly costs tens of milliseconds, so when it expects more
    than the limit its estimate is shown, labelled as one; so is it when the exact count
    would take longer than ``budget_ms`` (a filter no index serves)."""
    estimate = _estimate(queryset)
    if estimate > limit:
        return estimate, False
    exact = _count_within(queryset, limit, budget_ms)
    if exact is None:
        return estimate, False
    if exact <= limit:
        return exact, True
    return max(exact, estimate), False


def _rollup_filters(data: dict, *, widen: bool) -> tuple[dict, tuple[str, ...]] | None:
    """(rollup filters, the sums that count matches) for the log's filters, or None when one
    is a filter the rollups do not read: a single status code, a session, incomplete streams,
    errors and zero tokens at once. With ``widen`` such filters are widened instead (a code to
    its class, the others left out), so the sums are upper bounds of the matches."""
    status = data.get("status") or ""
    # No price: the rollups count priced rows (count(cost)), not the flag; its partial index counts it.
    exact_only = (
        data.get("session") or data.get("incomplete") or data.get("no_price") or (status and not status.endswith("xx"))
    )
    if exact_only and not widen:
        return None
    filters = {field: getattr(data[name], "pk", data[name]) for name, field in _ROLLUP_FIELDS if data.get(name)}
    if status:
        filters["status_class"] = int(status[0])  # a class, or the class a single code is in
    measures = tuple(
        measure for flag, measure in (("errors", "errors"), ("zero_tokens", "zero_token_successes")) if data.get(flag)
    )
    if len(measures) > 1 and not widen:
        return None
    return filters, measures or ("requests",)


def _rollup_hours(filterset: MessageRequestFilterSet, *, widen: bool = False) -> dict[datetime, int] | None:
    """Matching rows per UTC hour of the window, exact, from the hourly rollups (raw rows for
    the ragged edges and the hours not rolled up yet); with ``widen``, upper bounds of them for
    filters the rollups do not read (see ``_rollup_filters``). None when the filters need
    ``widen`` and it was not given, or when the rollups lag too far behind."""
    found = _rollup_filters(filterset.form.cleaned_data, widen=widen)
    if found is None:
        return None
    filters, measures = found
    now = timezone.now()
    start, end = filterset.window()
    # Rows stamped ahead of the clock still show on an open-ended page: count them too.
    end = end or now + timedelta(days=1)
    # Hours whose rows are not rolled up yet are read raw; writers mark every hour they write
    # (an hour never marked has no rows), so the marked ones are the raw rows' cost.
    dirty = RollupHour.objects.filter(hour__gte=rollups.floor_hour(start), hour__lt=end, dirty=True)
    if dirty.count() > MAX_DIRTY_HOURS:
        return None  # the rollups lag behind: this many raw rows is the slow path
    rows = rollups.totals(
        viewer=filterset.request.user, start=start, end=end, filters=filters,
        bucket="hour", zone=UTC, fields=measures,
    )  # fmt: skip
    sums: dict[datetime, dict[str, int]] = {}
    for row in rows:
        hour = sums.setdefault(row["bucket"], dict.fromkeys(measures, 0))
        for measure in measures:
            hour[measure] += row[measure]
    # Errors and zero-token successes at once: a row that is both is in each sum, so the
    # smaller one bounds the matches.
    hours = {bucket: min(hour.values()) for bucket, hour in sums.items()}
    return {bucket: count for bucket, count in hours.items() if count}


@dataclass
class LogListing:
    rows: QuerySet[MessageRequest]
    count: int
    exact: bool
    at_most: int | None = None  # with an estimate: the most rows there can be (from the rollups)


def _narrowed(filterset: MessageRequestFilterSet, hours: dict[datetime, int]) -> QuerySet[MessageRequest]:
    """The rows, within the hours the rollups say hold every match."""
    if not hours:
        return filterset.qs.none()
    return filterset.qs.filter(created_at__gte=min(hours), created_at__lt=max(hours) + timedelta(hours=1))


def log_listing(filterset: MessageRequestFilterSet) -> LogListing:
    """The rows of a log view with their count.

    The rollups are asked first: for every filter they read (user, key, provider, model,
    original model, endpoint, a status class, errors or zero tokens) the count is theirs, exact.
    Otherwise the rows are counted, exact up to EXACT_COUNT_LIMIT within COUNT_BUDGET_MS; past
    that the planner's estimate is shown, never above what the rollups say is the most there can
    be (``at_most``: the count with the filters they cannot read widened or left out). When the
    rollups know which hours hold matches, the rows are narrowed to those hours: a rare value
    (or none at all) then costs an index range over a few hours, not a walk over the week."""
    if not filterset.is_valid():
        return LogListing(rows=filterset.qs, count=0, exact=True)  # qs is empty: see the FilterSet
    hours = _rollup_hours(filterset)
    if hours is not None:
        return LogListing(rows=_narrowed(filterset, hours), count=sum(hours.values()), exact=True)
    count, exact = bounded_count(filterset.qs)
    if exact:
        return LogListing(rows=filterset.qs, count=count, exact=True)
    bounds = _rollup_hours(filterset, widen=True)
    if bounds is None:
        return LogListing(rows=filterset.qs, count=count, exact=False)
    at_most = sum(bounds.values())
    if not at_most:
        return LogListing(rows=filterset.qs.none(), count=0, exact=True)
    return LogListing(rows=_narrowed(filterset, bounds), count=min(count, at_most), exact=False, at_most=at_most)


def log_suggestions(*, viewer) -> dict[str, list[str]]:
    """Models and endpoints the viewer's requests used in the last 7 days, most used first,
    for the filter boxes. From the rollups, never DISTINCT over the request table; cached
    five minutes per visibility scope (everyone's for admins, one user's otherwise)."""
    key = f"logs:suggestions:{audience(viewer)}"
    found = cache.get(key)
    if found is not None:
        return found
    now = timezone.now()
    rows = rollups.totals(
        viewer=viewer, start=now - SUGGESTIONS_WINDOW, end=now, group_by=("model", "original_model", "endpoint")
    )
    used: dict[str, dict[str, int]] = {"models": {}, "endpoints": {}}
    for row in rows:
        for field, kind in (("model", "models"), ("original_model", "models"), ("endpoint", "endpoints")):
            if row[field]:
                used[kind][row[field]] = used[kind].get(row[field], 0) + row["requests"]
    found = {kind: sorted(counts, key=lambda name: (-counts[name], name)) for kind, counts in used.items()}
    cache.set(key, found, SUGGESTIONS_TTL)
    return found
