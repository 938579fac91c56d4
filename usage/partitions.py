"""Monthly partitions of ``message_request`` (DESIGN decision 8).

Partitions are UTC calendar months, named ``message_request_pYYYY_MM``. They are
created ahead of time (a Celery beat task keeps the next months ready) and on
demand (ingest and ``demo_data`` ensure the months of the rows they write), so a
row never finds its month missing. There is no DEFAULT partition: it would have
to be scanned, and emptied, each time a month is added.

Idempotency: a unique constraint on a partitioned table must contain the
partition key, so requests are unique on (user_id, request_id, created_at). A
record's request_id and timestamp come from the gateway that sent it and a resend
carries both again, so with the owner they identify a request; it costs no extra
table or lookup on the write path, and retention still drops whole months. The
owner is part of it so that one user's ids can neither hide another's records as
"duplicates" nor tell whether an id exists; it is also what a table distributed
by user (Citus, DESIGN decision 10) requires of a unique key.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from django.db import connections, transaction

from usage.periods import add_months, month_of, months_between, next_month

TABLE = "message_request"
_LOCK_KEY = 0x6D72_7061  # an arbitrary constant for pg_advisory_xact_lock: "mrpa"

# Months known to exist in this process, so the hot path asks the catalog once.
_known: set[date] = set()


def partition_name(month: date) -> str:
    return f"{TABLE}_p{month.year:04d}_{month.month:02d}"


def existing_partitions(using: str = "default") -> dict[date, str]:
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname
            FROM pg_inherits
            JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
            JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            WHERE parent.relname = %s
            """,
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = {}
    for name in names:
        year, month = name.removeprefix(f"{TABLE}_p").split("_")
        found[date(int(year), int(month), 1)] = name
    return found


def ensure_partitions(months: Iterable[date], using: str = "default") -> list[str]:
    """Create the partitions of these months that do not exist yet; return the new ones' names."""
    wanted = {month_of(month) for month in months} - _known
    if not wanted:
        return []
    created = []
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        # Two processes may want the same month at once: take turns, then re-check.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        present = existing_partitions(using)
        for month in sorted(wanted - present.keys()):
            name = partition_name(month)
            cursor.execute(
                f'CREATE TABLE "{name}" PARTITION OF "{TABLE}" FOR VALUES FROM (%s) TO (%s)',
                [f"{month.isoformat()} 00:00:00+00", f"{next_month(month).isoformat()} 00:00:00+00"],
            )
            created.append(name)
    # Remembered only once committed: a rolled-back creation must not count as done.
    transaction.on_commit(lambda: _known.update(wanted), using=using)
    return created


def ensure_for_range(start: datetime, end: datetime, using: str = "default") -> list[str]:
    return ensure_partitions(months_between(start, end), using=using)


def ensure_ahead(*, now: datetime | None = None, months_ahead: int = 3, using: str = "default") -> list[str]:
    """The current month and the next ``months_ahead`` ones."""
    current = month_of(now or datetime.now(UTC))
    return ensure_partitions([add_months(current, i) for i in range(months_ahead + 1)], using=using)


def forget_known() -> None:
    """Drop the in-process memory of existing partitions (after a test database flush or a drop)."""
    _known.clear()
