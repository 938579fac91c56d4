"""COPY into ``message_request``: the mechanics under the one write path (``usage.services.requests_store``).

Rows are ``RequestRow`` named tuples. ``copy_rows`` streams them with COPY into a temporary
staging table, then moves them with one INSERT ... ON CONFLICT DO NOTHING, so a resent request
(same owner, request_id and created_at) is skipped, not doubled, and the positions of the rows
really stored come back. Nothing but ``requests_store`` calls it: it neither creates
partitions nor marks rollup hours.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Sequence
from datetime import datetime

import orjson
from django.db import connection, transaction
from psycopg.types.json import Jsonb

from usage.models import MessageRequest


def _written_fields():
    """The columns COPY fills: the model's, less the identity and the soft-delete mark."""
    return [field for field in MessageRequest._meta.concrete_fields if field.attname not in ("id", "deleted_at")]


_REQUIRED = ("request_id", "created_at", "user_id")
_NAMES = [field.attname for field in _written_fields()]
_DEFAULTS = [field.get_default() for field in _written_fields()[len(_REQUIRED) :]]


class RequestRow(namedtuple("RequestRow", _NAMES, defaults=_DEFAULTS)):  # noqa: PYI024
    """One ``message_request`` row as written, its fields the model's columns in order; every
    field but request_id, created_at and user_id has the model's default."""

    __slots__ = ()

    @property
    def identity(self) -> tuple[int, str, datetime]:
        """What makes a request one request: its owner's, not everyone's, (request_id, created_at)."""
        return self.user_id, self.request_id, self.created_at


assert RequestRow._fields[: len(_REQUIRED)] == _REQUIRED, "the required columns come first"
COLUMNS: tuple[str, ...] = RequestRow._fields
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
    # Same columns as the table, minus the identity and without constraints, plus each row's
    # position in the batch: a plain heap that COPY fills fast; emptied at commit, reused by
    # the session.
    cursor.execute(
        f'CREATE TEMP TABLE IF NOT EXISTS "{STAGE}" ON COMMIT DELETE ROWS AS '
        f'SELECT 0 AS position, {_COLUMN_LIST} FROM "message_request" WITH NO DATA'
    )
    # Commit empties it, but two calls inside one outer transaction must not see each other's rows.
    cursor.execute(f'TRUNCATE "{STAGE}"')
    with cursor.cursor.copy(f'COPY "{STAGE}" (position, {_COLUMN_LIST}) FROM STDIN') as copy:
        for position, row in enumerate(rows):
            copy.write_row((position, *_adapt(row)))


_IDENTITY = ("user_id", "request_id", "created_at")
_SAME_REQUEST = " AND ".join(f's."{name}" = m."{name}"' for name in _IDENTITY)
_STAGED_REQUEST = ", ".join(f's."{name}"' for name in _IDENTITY)
_BY_REQUEST = ", ".join(f'"{name}"' for name in _IDENTITY)
# The positions of the rows really stored: the server matches them to the staged rows, so
# nothing but small integers comes back (reading each stored identity back, its timestamp
# parsed in Python, cost more than the matching). Rows go in in the order of their identity,
# so two batches naming some of the same requests wait for each other in one order and never
# deadlock, and then of their position, so that of two rows of one request the first is stored.
_MOVE = (
    f'WITH moved AS (INSERT INTO "message_request" ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM "{STAGE}" '
    f"ORDER BY {_BY_REQUEST}, position ON CONFLICT ({_BY_REQUEST}) DO NOTHING RETURNING {_BY_REQUEST}) "
    f'SELECT min(s.position) FROM "{STAGE}" s JOIN moved m ON {_SAME_REQUEST} GROUP BY {_STAGED_REQUEST}'
)


def _differing_sql(compare: Sequence[str]) -> str:
    """The staged rows whose stored version differs in any of ``compare``, with the names of the
    columns that differ. A row just moved in matches itself, so only skipped rows can show up."""
    names = ", ".join(f"""CASE WHEN s."{name}" IS DISTINCT FROM m."{name}" THEN '{name}' END""" for name in compare)
    differs = " OR ".join(f's."{name}" IS DISTINCT FROM m."{name}"' for name in compare)
    return (
        f"SELECT s.position, array_remove(ARRAY[{names}], NULL) "  # noqa: S608
        f'FROM "{STAGE}" s JOIN "message_request" m ON {_SAME_REQUEST} '
        f"WHERE m.created_at BETWEEN %s AND %s AND ({differs})"
    )


def copy_rows(rows: Sequence[RequestRow], compare: Sequence[str] = ()) -> tuple[set[int], dict[int, tuple[str, ...]]]:
    """Store rows, skipping any already stored. Return the positions (in ``rows``) of the new
    ones and, for each skipped row whose stored version differs in a column of ``compare``, its
    position and those columns (compared in the database, against the rows still staged:
    nothing is read back otherwise)."""
    with transaction.atomic(), connection.cursor() as cursor:
        _stage(cursor, rows)
        cursor.execute(_MOVE)
        inserted = {position for (position,) in cursor.fetchall()}
        differing = {}
        if compare and len(inserted) < len(rows):
            times = [row.created_at for row in rows]
            cursor.execute(_differing_sql(compare), [min(times), max(times)])
            differing = {position: tuple(names) for position, names in cursor.fetchall()}
        return inserted, differing
