"""Log retention: request rows older than the retention period go within a day of expiring.

The cutoff is the start of the UTC hour ``log_retention_days`` ago. Months wholly before it are
dropped whole (detach, drop: no DELETE, no dead rows); the rows before it in the month that
straddles it are deleted in slices of an hour, each slice its own transaction, oldest first,
and the partition is vacuumed afterwards so its dead rows' space is free again. An old month
gets no new rows to fill that space, so once more than half of its heap is free the partition
is rewritten (VACUUM FULL: its files shrink to its live rows, indexes included; the month's
logs wait for it, a few seconds per million rows, at the task's night hour): a partition never
holds more than about twice its live rows on disk. The beat task runs daily, so rows stay at
most a day past their period instead of a month.

Every transaction that removes rows records how far the purge has come
(``RetentionState.purged_before``) and sends ``usage.signals.requests_purged`` with that
moment, so listeners rebuild what they derived from the purged rows in the same transaction.
An interrupted purge leaves whole slices done and resumes where it stopped; two purges at
once take turns on an advisory lock (the second finds nothing left to do).

Rollups are kept: leaderboards, statements and the cumulative counters of purged hours stay
right, and ``usage.rollups.compute`` never recomputes an hour before ``purged_before``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from hub.models import SystemSettings
from usage import partitions
from usage.models import MessageRequest
from usage.periods import utc_month_bounds
from usage.rollups.compute import rollup_hour
from usage.rollups.shape import HOUR, floor_hour
from usage.signals import requests_purged

logger = logging.getLogger(__name__)
_LOCK_KEY = 0x72_6574_6E  # pg_advisory_lock: "retn"
SLICE = HOUR


@dataclass
class Purge:
    """What a purge did (or, dry, would do)."""

    cutoff: datetime
    dropped: list[str] = field(default_factory=list)  # partitions dropped whole
    deleted: int = 0  # rows deleted from the straddling month
    vacuumed: list[str] = field(default_factory=list)
    compacted: list[str] = field(default_factory=list)  # rewritten, more than half of them free
    skipped: bool = False  # another purge held the lock


def retention_cutoff(*, now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return floor_hour(now - timedelta(days=SystemSettings.get().log_retention_days))


def expired_months(*, now: datetime | None = None) -> dict:
    """The partitions (month -> name) whose whole range is older than the cutoff."""
    cutoff = retention_cutoff(now=now)
    return {
        month: name for month, name in partitions.existing_partitions().items() if utc_month_bounds(month)[1] <= cutoff
    }


def _purged_to(cursor, moment: datetime) -> None:
    """Record, and tell listeners, in the current transaction, that every row before ``moment`` is gone."""
    cursor.execute(
        "INSERT INTO usage_retention_state (id, purged_before, updated_at) VALUES (1, %s, now()) "
        "ON CONFLICT (id) DO UPDATE SET purged_before = GREATEST(usage_retention_state.purged_before, "
        "EXCLUDED.purged_before), updated_at = now()",
        [moment],
    )
    requests_purged.send(sender=MessageRequest, before=moment)


def _settle_hours(start: datetime, end: datetime) -> None:
    """Roll up every hour in [start, end) whose rollup is not final yet (dirty, or holding rows
    never rolled up) before its rows go: afterwards its rollup is never recomputed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT moment FROM generate_series(%s::timestamptz, %s::timestamptz - interval '1 hour', "
            "interval '1 hour') AS moment "
            "LEFT JOIN usage_rollup_hour state ON state.hour = moment "
            "WHERE state.dirty OR (state.hour IS NULL AND EXISTS (SELECT 1 FROM message_request "
            "WHERE created_at >= moment AND created_at < moment + interval '1 hour'))",
            [start, end],
        )
        hours = [row[0] for row in cursor.fetchall()]
    for hour in hours:
        rollup_hour(hour)


def _oldest_row(name: str, since: datetime, before: datetime) -> datetime | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT min(created_at) FROM "{name}" WHERE created_at >= %s AND created_at < %s',  # noqa: S608
            [since, before],
        )
        return cursor.fetchone()[0]


def _drop_month(month, name: str) -> None:
    start, end = utc_month_bounds(month)
    _settle_hours(start, end)
    with transaction.atomic(), connection.cursor() as cursor:
        # Deferred foreign-key checks of rows written earlier in this transaction would
        # block the DROP ("pending trigger events"): run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Detach first: a plain DROP of a partition would lock the parent for longer.
        cursor.execute(f'ALTER TABLE "{partitions.TABLE}" DETACH PARTITION "{name}"')
        cursor.execute(f'DROP TABLE "{name}"')
        _purged_to(cursor, end)
    logger.info("retention: dropped %s (requests of %s)", name, month.strftime("%Y-%m"))


def _delete_slices(name: str, cutoff: datetime, *, interrupt: Callable[[datetime], None] | None) -> int:
    """Delete the rows of partition ``name`` created before ``cutoff``, an hour a transaction,
    oldest first (hours without rows are skipped)."""
    deleted = 0
    moment = datetime.min.replace(tzinfo=UTC)
    while (oldest := _oldest_row(name, moment, cutoff)) is not None:
        moment = floor_hour(oldest)
        upper = min(moment + SLICE, cutoff)
        _settle_hours(moment, upper)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f'DELETE FROM "{name}" WHERE created_at >= %s AND created_at < %s',  # noqa: S608
                [moment, upper],
            )
            deleted += cursor.rowcount
            _purged_to(cursor, upper)
        if interrupt:
            interrupt(upper)
        moment = upper
    return deleted


def _vacuum(name: str) -> bool:
    """VACUUM the partition, so its deleted rows' space is free for reuse and its indexes lose
    them. It cannot run in a transaction block: only from autocommit (the beat task, the command)."""
    if connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f'VACUUM (ANALYZE) "{name}"')
    return True


#: a vacuumed partition is rewritten when its live rows fill less than this share of its heap
COMPACT_BELOW = 0.5


def _live_share(name: str) -> float:
    """How much of the partition's heap its live rows fill, from the statistics the VACUUM
    (ANALYZE) just took: rows x (their columns' average widths + a tuple header) / heap bytes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.reltuples, pg_relation_size(c.oid), "
            "(SELECT sum(avg_width) FROM pg_stats WHERE schemaname = n.nspname AND tablename = c.relname) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND n.nspname = current_schema()",
            [name],
        )
        found = cursor.fetchone()
    if not found or not found[1] or found[2] is None:
        return 1.0
    rows, heap_bytes, width = found
    return max(rows, 0) * (float(width) + 28) / heap_bytes  # 28: tuple header and line pointer


def _compact(name: str) -> bool:
    """Rewrite the partition when its live rows fill less than COMPACT_BELOW of its heap."""
    if connection.in_atomic_block or _live_share(name) >= COMPACT_BELOW:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f'VACUUM (FULL, ANALYZE) "{name}"')
    logger.info("retention: rewrote %s, more than half of it was free", name)
    return True


def retention_apply(
    *, now: datetime | None = None, dry_run: bool = False, interrupt: Callable[[datetime], None] | None = None
) -> Purge:
    """Purge the rows older than the retention period (see the module's docstring). ``dry_run``:
    say what would go, touch nothing. ``interrupt`` (tests): called after each committed slice."""
    cutoff = retention_cutoff(now=now)
    result = Purge(cutoff=cutoff)
    existing = partitions.existing_partitions()
    expired = {month: name for month, name in existing.items() if utc_month_bounds(month)[1] <= cutoff}
    straddling = {
        month: name for month, name in existing.items() if month not in expired and utc_month_bounds(month)[0] < cutoff
    }
    if dry_run:
        result.dropped = [name for _month, name in sorted(expired.items())]
        result.deleted = sum(
            MessageRequest.objects.filter(created_at__gte=utc_month_bounds(month)[0], created_at__lt=cutoff).count()
            for month in straddling
        )
        return result
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
        if not cursor.fetchone()[0]:
            result.skipped = True
            logger.info("retention: another purge is running; leaving it to that one")
            return result
    try:
        for month, name in sorted(expired.items()):
            _drop_month(month, name)
            result.dropped.append(name)
        for _month, name in sorted(straddling.items()):
            deleted = _delete_slices(name, cutoff, interrupt=interrupt)
            result.deleted += deleted
            if deleted and _vacuum(name):
                result.vacuumed.append(name)
                if _compact(name):
                    result.compacted.append(name)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
        if result.dropped:
            partitions.forget_known()
    if result.deleted:
        logger.info("retention: deleted %d requests before %s", result.deleted, cutoff.isoformat())
    return result
