"""Sums since the first request: the rollup hours added up, kept current as hours are rewritten.

``usage_total`` holds, per (user, key, provider, model, original model, endpoint, status
class), the sums of every rollup row ever written; ``usage_total_histogram`` the histograms
per (provider, model, original model, status class). ``rollup_hour`` calls ``hour_removed``
before it deletes an hour's rollup rows and ``hour_added`` after it writes the new ones, in
the same transaction, so the totals always equal the sum over the rollup tables, and a
recompute changes them by exactly what changed in the hour.

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
#: what usage_total_histogram groups by, and its histograms (element-wise sums)
HISTOGRAM_GROUP = ("provider_id", "model", "original_model", "status_class")
HISTOGRAMS = ("latency_histogram", "ttft_histogram", "token_histogram")
TOKEN_KINDS = TOKEN_HISTOGRAM_KINDS

# The functions the SQL below uses are created by migration usage 0012: usage_array_add(a, b)
# adds two arrays element by element (NULL is "nothing"), usage_array_sum(a) is its aggregate,
# usage_array_neg(a) negates one.


def _upsert_totals(sign: str) -> str:
    columns = ", ".join(GROUP + SUMS)
    values = ", ".join((*GROUP, *(f"{sign}COALESCE({name}, 0)" for name in SUMS)))
    updates = ", ".join(f"{name} = t.{name} + EXCLUDED.{name}" for name in SUMS)
    # Ordered, so two transactions touching the same groups lock them in the same order.
    return (
        f"INSERT INTO usage_total AS t ({columns}) SELECT {values} FROM usage_hourly WHERE hour = %(hour)s "  # noqa: S608
        f"ORDER BY {', '.join(GROUP)} "
        f"ON CONFLICT ({', '.join(GROUP)}) DO UPDATE SET {updates}"
    )


def _upsert_histograms(negate: bool) -> str:
    columns = ", ".join(HISTOGRAM_GROUP + HISTOGRAMS)
    summed = ", ".join(
        (f"usage_array_neg(usage_array_sum({name}))" if negate else f"usage_array_sum({name})") for name in HISTOGRAMS
    )
    updates = ", ".join(f"{name} = usage_array_add(t.{name}, EXCLUDED.{name})" for name in HISTOGRAMS)
    group = ", ".join(HISTOGRAM_GROUP)
    return (
        f"INSERT INTO usage_total_histogram AS t ({columns}) SELECT {group}, {summed} FROM usage_hourly "  # noqa: S608
        f"WHERE hour = %(hour)s GROUP BY {group} ORDER BY {group} "
        f"ON CONFLICT ({group}) DO UPDATE SET {updates}"
    )


_REMOVE = (_upsert_totals("-"), _upsert_histograms(negate=True))
_ADD = (_upsert_totals(""), _upsert_histograms(negate=False))


def hour_removed(cursor, hour: datetime) -> None:
    """Take the hour's rollup rows out of the totals (before they are deleted)."""
    for sql in _REMOVE:
        cursor.execute(sql, {"hour": hour})


def hour_added(cursor, hour: datetime) -> None:
    """Add the hour's new rollup rows to the totals (after they are written)."""
    for sql in _ADD:
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
    the stale rollup rows of dirty hours, plus those hours' raw rows."""
    unknown = set(group_by) - set(GROUP)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}")
    columns = (*GROUP, *SUMS)
    dirty, params = _dirty_parts(columns, (*GROUP, *(f"-COALESCE({name}, 0)" for name in SUMS)))
    # bigint sums come back as numeric: cast back, so callers get ints (cost stays a Decimal)
    sums = (f"sum({name})" + ("" if name == "cost" else "::bigint") + f" AS {name}" for name in SUMS)
    selected = ", ".join((*group_by, *sums))
    grouped = f" GROUP BY {', '.join(group_by)}" if group_by else ""
    return _fetch(
        f"SELECT {selected} FROM (SELECT {', '.join(columns)} FROM usage_total{dirty}) AS parts{grouped}",  # noqa: S608
        params,
    )


def read_histograms() -> list[dict]:
    """The histograms since the first request per HISTOGRAM_GROUP, exact like ``read``."""
    columns = (*HISTOGRAM_GROUP, *HISTOGRAMS)
    dirty, params = _dirty_parts(columns, (*HISTOGRAM_GROUP, *(f"usage_array_neg({name})" for name in HISTOGRAMS)))
    if not dirty:
        return _fetch(f"SELECT {', '.join(columns)} FROM usage_total_histogram", {})  # noqa: S608
    group = ", ".join(HISTOGRAM_GROUP)
    summed = ", ".join(f"usage_array_sum({name}) AS {name}" for name in HISTOGRAMS)
    return _fetch(
        f"SELECT {group}, {summed} FROM (SELECT {', '.join(columns)} FROM usage_total_histogram{dirty}) AS parts "  # noqa: S608
        f"GROUP BY {group}",
        params,
    )
