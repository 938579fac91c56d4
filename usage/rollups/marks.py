"""Dirty marks: the rollup state rows (``usage.models.RollupState``: an hour's, a minute's)
that writers bump in the transaction of their rows, so a recompute running meanwhile cannot
call the unit clean without having seen them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import connection

from usage.models import RollupState


def _upsert(state: type[RollupState], select: str) -> str:
    table, unit = state._meta.db_table, state._meta.pk.column
    return (
        f"INSERT INTO {table} ({unit}, dirty, version) SELECT {select}, true, 1 "  # noqa: S608
        f"ON CONFLICT ({unit}) DO UPDATE SET dirty = true, version = {table}.version + 1"
    )


def floor(state: type[RollupState], moment: datetime) -> datetime:
    seconds = int(state.unit.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, UTC)


def mark(state: type[RollupState], moments: Iterable[datetime], *, since: datetime | None = None) -> None:
    """Mark the units of ``moments`` (from ``since``'s on, if given) dirty."""
    # Epoch units, not datetimes: this runs for every batch on the write path, and a set of a
    # thousand ints costs a fraction of a thousand astimezone/replace calls.
    seconds = int(state.unit.total_seconds())
    first = int(since.timestamp()) // seconds if since else None
    epochs = sorted({int(moment.timestamp()) // seconds for moment in moments})
    units = [datetime.fromtimestamp(epoch * seconds, UTC) for epoch in epochs if first is None or epoch >= first]
    if units:
        with connection.cursor() as cursor:
            cursor.execute(_upsert(state, "unnest(%s::timestamptz[])"), [units])


def mark_series(state: type[RollupState], start: datetime, end: datetime) -> None:
    """Mark every unit from ``start``'s to ``end``'s (a backfill, a retention drop)."""
    start, end = floor(state, start), floor(state, end)
    if start <= end:
        with connection.cursor() as cursor:
            cursor.execute(
                _upsert(state, "generate_series(%s::timestamptz, %s::timestamptz, %s)"), [start, end, state.unit]
            )
