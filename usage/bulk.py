"""The bulk write path into ``message_request``: COPY, never a save per row.

Rows are tuples in ``COLUMNS`` order. ``copy_requests`` streams them with COPY into a
temporary staging table, then moves them with one INSERT ... ON CONFLICT DO NOTHING,
so a resent request (same request_id and created_at) is skipped, not doubled, and
the count of rows really stored comes back. Partitions for the rows' months must
exist (``usage.partitions.ensure_partitions``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import orjson
from django.db import connection, transaction
from psycopg.types.json import Jsonb

COLUMNS: tuple[str, ...] = (
    "request_id", "created_at", "user_id", "key_id", "provider_id", "model", "original_model", "endpoint",
    "status_code", "is_stream", "input_tokens", "output_tokens", "cache_creation_tokens",
    "cache_creation_5m_tokens", "cache_creation_1h_tokens", "cache_read_tokens", "reasoning_tokens", "cost",
    "cost_breakdown", "price_missing",
    "cost_multiplier", "duration_ms", "ttft_ms", "session_id", "provider_chain", "user_agent", "messages_count",
    "blocked_by", "blocked_reason", "error_message", "attributes",
)  # fmt: skip
JSON_COLUMNS = frozenset({"provider_chain", "attributes", "cost_breakdown"})
_JSON_POSITIONS = tuple(i for i, name in enumerate(COLUMNS) if name in JSON_COLUMNS)
_COLUMN_LIST = ", ".join(f'"{name}"' for name in COLUMNS)
STAGE = "message_request_stage"


def _dumps(value) -> bytes:
    return orjson.dumps(value, default=str)


def _adapt(row: Sequence) -> Sequence:
    if any(row[i] is not None for i in _JSON_POSITIONS):
        row = list(row)
        for i in _JSON_POSITIONS:
            if row[i] is not None:
                row[i] = Jsonb(row[i], dumps=_dumps)
    return row


def _stage(cursor, rows: Iterable[Sequence]) -> None:
    # Same columns as the table, minus the identity and without constraints: a plain
    # heap that COPY fills fast; emptied at commit, reused by the session.
    cursor.execute(
        f'CREATE TEMP TABLE IF NOT EXISTS "{STAGE}" ON COMMIT DELETE ROWS AS '
        f'SELECT {_COLUMN_LIST} FROM "message_request" WITH NO DATA'
    )
    # Commit empties it, but two calls inside one outer transaction must not see each other's rows.
    cursor.execute(f'TRUNCATE "{STAGE}"')
    with cursor.cursor.copy(f'COPY "{STAGE}" ({_COLUMN_LIST}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(_adapt(row))


_MOVE = (
    f'INSERT INTO "message_request" ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM "{STAGE}" '
    'ON CONFLICT ("request_id", "created_at") DO NOTHING'
)


def copy_requests(rows: Iterable[Sequence]) -> int:
    """Store rows, skipping any already stored; return how many were new."""
    with transaction.atomic(), connection.cursor() as cursor:
        _stage(cursor, rows)
        cursor.execute(_MOVE)
        return cursor.rowcount


def copy_requests_returning(rows: Iterable[Sequence]) -> set[tuple[str, datetime]]:
    """Store rows, skipping any already stored; return the (request_id, created_at) of the new ones."""
    with transaction.atomic(), connection.cursor() as cursor:
        _stage(cursor, rows)
        cursor.execute(_MOVE + ' RETURNING "request_id", "created_at"')
        return {(request_id, created_at) for request_id, created_at in cursor.fetchall()}
