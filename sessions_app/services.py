"""Writes of sessions: kept current from the request rows the write path stores.

``sessions_record`` folds a batch of new request rows into their sessions with one upsert
per session (inside the write transaction, so the totals commit or roll back with the rows);
``sessions_recompute`` rebuilds sessions from the rows that remain (after a purge). Both
compute the same sums: the batch in Python, the rebuild in SQL, from the same definitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import orjson
from django.db import connection, transaction
from django.utils import timezone

from usage.bulk import RequestRow
from usage.definitions import api_type, api_type_sql, condition_sql, is_error

_SUMS = (
    "requests", "errors", "streams", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
    "reasoning_tokens", "priced", "duration_sum", "duration_count", "ttft_sum", "ttft_count",
)  # fmt: skip
_COLUMNS = (
    "user_id", "session_id", "key_id", "api_type", "first_request_at", "last_request_at", *_SUMS, "cost",
    "provider_ids", "model_names", "updated_at",
)  # fmt: skip
_TABLE = "sessions_app_session"


@dataclass
class _Fold:
    """One session's share of a batch."""

    user_id: int
    session_id: str
    key_id: int | None
    api_type: str
    first_request_at: datetime
    last_request_at: datetime
    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SUMS, 0))
    cost: Decimal | None = None
    provider_ids: set[int] = field(default_factory=set)
    model_names: set[str] = field(default_factory=set)

    def add(self, row: RequestRow) -> None:
        if row.created_at >= self.last_request_at:
            # The latest request says which key and API the session uses now.
            self.last_request_at, self.key_id, self.api_type = row.created_at, row.key_id, api_type(row.endpoint)
        self.first_request_at = min(self.first_request_at, row.created_at)
        sums = self.sums
        sums["requests"] += 1
        sums["errors"] += is_error(row.status_code, row.error_message)
        sums["streams"] += bool(row.is_stream)
        for name in ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "reasoning_tokens"):
            sums[name] += getattr(row, name) or 0
        if row.cost is not None:
            sums["priced"] += 1
            self.cost = row.cost if self.cost is None else self.cost + row.cost
        if row.duration_ms is not None:
            sums["duration_sum"] += row.duration_ms
            sums["duration_count"] += 1
        if row.ttft_ms is not None:
            sums["ttft_sum"] += row.ttft_ms
            sums["ttft_count"] += 1
        if row.provider_id is not None:
            self.provider_ids.add(row.provider_id)
        if row.model:
            self.model_names.add(row.model)

    def values(self, now: datetime) -> tuple:
        return (
            self.user_id, self.session_id, self.key_id, self.api_type, self.first_request_at, self.last_request_at,
            *(self.sums[name] for name in _SUMS), self.cost, sorted(self.provider_ids), sorted(self.model_names), now,
        )  # fmt: skip


def _fold(rows: Iterable[RequestRow]) -> list[_Fold]:
    folds: dict[tuple[int, str], _Fold] = {}
    for row in rows:
        if not row.session_id:
            continue
        key = (row.user_id, row.session_id)
        fold = folds.get(key)
        if fold is None:
            fold = folds[key] = _Fold(row.user_id, row.session_id, row.key_id, api_type(row.endpoint),
                                      row.created_at, row.created_at)  # fmt: skip
        fold.add(row)
    # A fixed order: two batches touching the same sessions lock them in the same order.
    return [folds[key] for key in sorted(folds)]


_LATEST = "EXCLUDED.last_request_at >= s.last_request_at"
#: the SQL type of each written column, to read the batch back out of its JSON document
_TYPES = {
    "user_id": "integer", "session_id": "text", "key_id": "integer", "api_type": "text",
    "first_request_at": "timestamptz", "last_request_at": "timestamptz", **dict.fromkeys(_SUMS, "bigint"),
    "cost": "numeric", "provider_ids": "integer[]", "model_names": "text[]", "updated_at": "timestamptz",
}  # fmt: skip
assert tuple(_TYPES) == _COLUMNS
_RECORD = ", ".join(f"{name} {kind}" for name, kind in _TYPES.items())
# The batch travels as one JSON document (one parameter, one statement text whatever the batch
# size): a VALUES list of a parameter per column made psycopg split and PostgreSQL plan a new
# statement of up to thousands of parameters for every batch (7 ms for 50 sessions).
_UPSERT = f"""
INSERT INTO {_TABLE} AS s ({", ".join(_COLUMNS)})
SELECT {", ".join(_COLUMNS)} FROM jsonb_to_recordset(%s::jsonb) AS batch({_RECORD})
ON CONFLICT (user_id, session_id) DO UPDATE SET
    key_id = CASE WHEN {_LATEST} THEN EXCLUDED.key_id ELSE s.key_id END,
    api_type = CASE WHEN {_LATEST} THEN EXCLUDED.api_type ELSE s.api_type END,
    first_request_at = LEAST(s.first_request_at, EXCLUDED.first_request_at),
    last_request_at = GREATEST(s.last_request_at, EXCLUDED.last_request_at),
    {", ".join(f"{name} = s.{name} + EXCLUDED.{name}" for name in _SUMS)},
    cost = CASE WHEN s.cost IS NULL THEN EXCLUDED.cost WHEN EXCLUDED.cost IS NULL THEN s.cost
                ELSE s.cost + EXCLUDED.cost END,
    provider_ids = ARRAY(SELECT DISTINCT unnest(s.provider_ids || EXCLUDED.provider_ids) ORDER BY 1),
    model_names = ARRAY(SELECT DISTINCT unnest(s.model_names || EXCLUDED.model_names) ORDER BY 1),
    updated_at = EXCLUDED.updated_at
"""  # noqa: S608  (names are constants; values are parameters)


def _document(folds: list[_Fold], now: datetime) -> str:
    # Costs as strings: exact decimals, never floats. Times in ISO 8601 with their offset.
    return orjson.dumps([dict(zip(_COLUMNS, fold.values(now), strict=True)) for fold in folds], default=str).decode()


def sessions_record(*, rows: Sequence[RequestRow]) -> int:
    """Fold new request rows into their sessions; return how many sessions were touched. Call
    inside the transaction that stores the rows (the write path's ``requests_stored``)."""
    folds = _fold(rows)
    if folds:
        # One statement for the batch (a session at most once in it, so no row is hit twice).
        with connection.cursor() as cursor:
            cursor.execute(_UPSERT, [_document(folds, timezone.now())])
    return len(folds)


def _rebuild_sql(where: str) -> str:
    """Sessions rebuilt from the request rows that match ``where``."""
    latest = "(array_agg({} ORDER BY created_at DESC, id DESC))[1]"
    return f"""
INSERT INTO {_TABLE} ({", ".join(_COLUMNS)})
SELECT user_id, session_id, {latest.format("key_id")}, {latest.format(api_type_sql("endpoint"))},
    min(created_at), max(created_at),
    count(*), count(*) FILTER (WHERE {condition_sql("ERROR")}), count(*) FILTER (WHERE is_stream),
    sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens),
    sum(reasoning_tokens), count(cost), COALESCE(sum(duration_ms), 0), count(duration_ms),
    COALESCE(sum(ttft_ms), 0), count(ttft_ms), sum(cost),
    COALESCE(array_agg(DISTINCT provider_id) FILTER (WHERE provider_id IS NOT NULL), '{{}}'),
    COALESCE(array_agg(DISTINCT model) FILTER (WHERE model <> ''), '{{}}'), now()
FROM message_request
WHERE session_id <> '' AND deleted_at IS NULL AND ({where})
GROUP BY user_id, session_id
"""  # noqa: S608  (built from constants; values are parameters)


@transaction.atomic
def sessions_recompute(*, before: datetime) -> int:
    """After the request rows created before ``before`` were purged: sessions that began
    earlier are rebuilt from the rows that remain, or removed when none remain. Returns how
    many were touched."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT user_id, session_id FROM {_TABLE} WHERE first_request_at < %s",  # noqa: S608
            [before],
        )
        touched = cursor.fetchall()
        if not touched:
            return 0
        users, ids = [pair[0] for pair in touched], [pair[1] for pair in touched]
        pairs = "(user_id, session_id) IN (SELECT * FROM unnest(%s::int[], %s::text[]))"
        cursor.execute(
            f"DELETE FROM {_TABLE} WHERE (user_id, session_id) IN (SELECT * FROM unnest(%s::int[], %s::text[]))",  # noqa: S608
            [users, ids],
        )
        cursor.execute(_rebuild_sql(pairs), [users, ids])
    return len(touched)


def sessions_rebuild_all() -> int:
    """Every session from every request row (a migration's backfill, or a repair)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_TABLE}")  # noqa: S608
        cursor.execute(_rebuild_sql("true"))
        return cursor.rowcount


def conversations_expire(*, now: datetime | None = None) -> int:
    """Remove the stored conversations (question, answer, tool calls, reasoning) of requests
    older than ``SystemSettings.session_messages_days``, from where the last sweep stopped;
    return how many requests lost theirs."""
    from hub.models import SystemSettings
    from sessions_app.models import ConversationSweep
    from usage.services import request_messages_forget

    now = now or timezone.now()
    cutoff = now - timedelta(days=SystemSettings.get().session_messages_days)
    with transaction.atomic():
        sweep, _created = ConversationSweep.objects.select_for_update().get_or_create(pk=1)
        if sweep.swept_before is not None and sweep.swept_before >= cutoff:
            return 0
        forgotten = request_messages_forget(since=sweep.swept_before, before=cutoff)
        sweep.swept_before, sweep.swept_at = cutoff, now
        sweep.save()
    return forgotten
