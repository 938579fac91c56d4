"""Sums since the first request: the rollup hours added up, kept current as hours are rewritten.

``usage_total`` holds, per (user, key, provider, model, original model, endpoint, status
class), the sums of every rollup row ever written; ``usage_total_route`` the same sums and the
histograms per (provider, model, original model, endpoint, status class) only: a few hundred
rows, all that a scrape without per-user or per-key labels reads. ``rollup_hour`` stages an hour's new
rollup rows and calls ``hour_rewritten`` before it swaps them in, in the same transaction, so
the totals always equal the sum over the rollup tables, and a recompute changes them by
exactly what changed in the hour.

``read`` adds what the rollups do not hold yet (dirty hours: their stale rollup rows out, their
raw rows in), so a reading equals the sum over every request ever stored. Rollups outlive
retention (``usage.retention``), so a reading never goes down when old requests are purged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from usage.models import TOKEN_HISTOGRAM_KINDS

#: what usage_total groups by, and what it sums
GROUP = ("user_id", "key_id", "provider_id", "model", "original_model", "endpoint", "status_class")
SUMS = (
    "requests", "errors", "streams", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
    "reasoning_tokens", "cost", "priced", "zero_token_successes", "duration_sum", "duration_count", "ttft_sum",
    "ttft_count",
)  # fmt: skip
#: what usage_total_route groups by, and its histograms (element-wise sums) beside the sums
ROUTE_GROUP = ("provider_id", "model", "original_model", "endpoint", "status_class")
HISTOGRAMS = ("latency_histogram", "ttft_histogram", "token_histogram")
TOKEN_KINDS = TOKEN_HISTOGRAM_KINDS

#: the temporary table ``usage.rollups.compute`` stages an hour's new rollup rows in
FRESH = "usage_hourly_fresh"

# The functions the SQL below uses are created by migration usage 0012: usage_array_add(a, b)
# adds two arrays element by element (NULL is "nothing"), usage_array_sum(a) is its aggregate,
# usage_array_neg(a) negates one.


def _totals_delta() -> str:
    group = ", ".join(GROUP)
    fresh = ", ".join((*GROUP, *(f"COALESCE({name}, 0) AS {name}" for name in SUMS)))
    old = ", ".join((*GROUP, *(f"-COALESCE({name}, 0)" for name in SUMS)))
    unchanged = " AND ".join(f"sum({name}) = 0" for name in SUMS)
    updates = ", ".join(f"{name} = t.{name} + EXCLUDED.{name}" for name in SUMS)
    return (
        f"INSERT INTO usage_total AS t ({group}, {', '.join(SUMS)}) "  # noqa: S608
        f"SELECT {group}, {', '.join(f'sum({name})' for name in SUMS)} FROM ("
        f"SELECT {fresh} FROM {FRESH} UNION ALL SELECT {old} FROM usage_hourly WHERE hour = %(hour)s"
        f") AS delta GROUP BY {group} HAVING NOT ({unchanged}) "
        # Ordered, so transactions touching the same groups lock them in the same order.
        f"ORDER BY {group} ON CONFLICT ({group}) DO UPDATE SET {updates}"
    )


def _route_delta() -> str:
    group = ", ".join(ROUTE_GROUP)
    fresh = ", ".join((*ROUTE_GROUP, *(f"COALESCE({name}, 0) AS {name}" for name in SUMS), *HISTOGRAMS))
    old = ", ".join(
        (
            *ROUTE_GROUP,
            *(f"-COALESCE({name}, 0)" for name in SUMS),
            *(f"usage_array_neg({name})" for name in HISTOGRAMS),
        )
    )
    summed = ", ".join((*(f"sum({name})" for name in SUMS), *(f"usage_array_sum({name})" for name in HISTOGRAMS)))
    updates = ", ".join(
        (*(f"{name} = t.{name} + EXCLUDED.{name}" for name in SUMS),
         *(f"{name} = usage_array_add(t.{name}, EXCLUDED.{name})" for name in HISTOGRAMS))
    )  # fmt: skip
    return (
        f"INSERT INTO usage_total_route AS t ({group}, {', '.join(SUMS)}, {', '.join(HISTOGRAMS)}) "  # noqa: S608
        f"SELECT {group}, {summed} FROM ("
        f"SELECT {fresh} FROM {FRESH} UNION ALL SELECT {old} FROM usage_hourly WHERE hour = %(hour)s"
        f") AS delta GROUP BY {group} ORDER BY {group} ON CONFLICT ({group}) DO UPDATE SET {updates}"
    )


_DELTAS = (_totals_delta(), _route_delta())


def hour_rewritten(cursor, hour: datetime) -> None:
    """Move the totals by (the hour's new rollup rows, staged in FRESH) − (its rows in usage_hourly).
    Call before the old rows are replaced. One statement per table, each locking its rows in
    order, so rollups of different hours running at once never deadlock on the totals."""
    for sql in _DELTAS:
        cursor.execute(sql, {"hour": hour})


def _dirty_parts(columns: Sequence[str], negated: Sequence[str]) -> tuple[str, dict]:
    """UNION ALL parts for the dirty hours: their stale rollup rows negated, their raw rows."""
    from usage.rollups.compute import rollup_select
    from usage.rollups.shape import hour_ranges

    with connection.cursor() as cursor:
        cursor.execute("SELECT hour FROM usage_rollup_hour WHERE dirty")
        hours = [row[0] for row in cursor.fetchall()]
    if not hours:
        return "", {}
    params: dict = {"dirty": hours}
    windows = []
    for index, (low, high) in enumerate(hour_ranges(hours)):
        params[f"low{index}"], params[f"high{index}"] = low, high
        windows.append(f"(created_at >= %(low{index})s AND created_at < %(high{index})s)")
    return (
        f" UNION ALL SELECT {', '.join(negated)} FROM usage_hourly WHERE hour = ANY(%(dirty)s)"  # noqa: S608
        f" UNION ALL SELECT {', '.join(columns)} FROM ({rollup_select(' OR '.join(windows))}) AS raw",
        params,
    )


def _fetch(sql: str, params: dict) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def read(*, group_by: Sequence[str]) -> list[dict]:
    """Sums since the first request per ``group_by`` (fields of GROUP), exact: the totals, less
    the stale rollup rows of dirty hours, plus those hours' raw rows. Read from the small route
    table when ``group_by`` needs no user or key."""
    unknown = set(group_by) - set(GROUP)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}")
    table, grouping = (
        ("usage_total_route", ROUTE_GROUP) if set(group_by) <= set(ROUTE_GROUP) else ("usage_total", GROUP)
    )
    columns = (*grouping, *SUMS)
    dirty, params = _dirty_parts(columns, (*grouping, *(f"-COALESCE({name}, 0)" for name in SUMS)))
    # bigint sums come back as numeric: cast back, so callers get ints (cost stays a Decimal)
    sums = (f"sum({name})" + ("" if name == "cost" else "::bigint") + f" AS {name}" for name in SUMS)
    selected = ", ".join((*group_by, *sums))
    grouped = f" GROUP BY {', '.join(group_by)}" if group_by else ""
    return _fetch(
        f"SELECT {selected} FROM (SELECT {', '.join(columns)} FROM {table}{dirty}) AS parts{grouped}",  # noqa: S608
        params,
    )


def _histogram_column(name: str) -> str:
    # As text, split in Python: several times faster than parsing hundreds of arrays one by one.
    return f"array_to_string({name}, ',') AS {name}"


def read_routes() -> list[dict]:
    """Sums and histograms since the first request per ROUTE_GROUP, exact like ``read``;
    histograms as lists of ints (None where no rollup has written one yet)."""
    columns = (*ROUTE_GROUP, *SUMS, *HISTOGRAMS)
    negated = (*ROUTE_GROUP, *(f"-COALESCE({name}, 0)" for name in SUMS),
               *(f"usage_array_neg({name})" for name in HISTOGRAMS))  # fmt: skip
    dirty, params = _dirty_parts(columns, negated)
    if not dirty:
        selected = ", ".join((*ROUTE_GROUP, *SUMS, *(_histogram_column(name) for name in HISTOGRAMS)))
        rows = _fetch(f"SELECT {selected} FROM usage_total_route", {})  # noqa: S608
    else:
        group = ", ".join(ROUTE_GROUP)
        summed = ", ".join(
            (*(f"sum({name})" + ("" if name == "cost" else "::bigint") + f" AS {name}" for name in SUMS),
             *(f"array_to_string(usage_array_sum({name}), ',') AS {name}" for name in HISTOGRAMS))
        )  # fmt: skip
        rows = _fetch(
            f"SELECT {group}, {summed} FROM (SELECT {', '.join(columns)} FROM usage_total_route{dirty}) AS parts "  # noqa: S608
            f"GROUP BY {group}",
            params,
        )
    for row in rows:
        for name in HISTOGRAMS:
            text = row[name]
            row[name] = [int(value) for value in text.split(",")] if text else None
    return rows
