"""Retention's purge of the boundary month: time, and the partition's size on disk before and after.

    .venv/bin/python bench/retention.py [--rows 6000000] [--purge 5000000]

Fills one UTC month (the month before last) evenly with ``--rows`` rows, sets the retention
period so that the cutoff falls after the first ``--purge`` of them, runs the purge as the beat
task does (hour slices, VACUUM, and a rewrite when more than half of the heap is free), and
prints the partition's heap and index sizes before, after, and the rows left. Run it on a
database of its own: it changes the retention setting.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from _http import setup_django

CHUNK = 100_000


def sizes(name: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        count = f'SELECT count(*) FROM "{name}"'  # noqa: S608 (a partition name we made)
        cursor.execute(
            "SELECT pg_size_pretty(pg_relation_size(%s)), pg_size_pretty(pg_indexes_size(%s)), "
            f"pg_size_pretty(pg_total_relation_size(%s)), ({count})",
            [name, name, name],
        )
        heap, indexes, total, rows = cursor.fetchone()
    return f"heap {heap}, indexes {indexes}, total {total}, {rows:,} rows"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=6_000_000)
    parser.add_argument("--purge", type=int, default=5_000_000)
    args = parser.parse_args()
    setup_django()
    import usage.tasks
    from hub.models import SystemSettings, User
    from usage import partitions
    from usage.bulk import RequestRow
    from usage.periods import add_months, month_of
    from usage.retention import retention_apply
    from usage.services import requests_store

    usage.tasks.rollups_process.delay = lambda *a, **k: None  # the purge rolls its hours up itself
    now = datetime.now(UTC)
    month = add_months(month_of(now), -2)
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(*add_months(month, 1).timetuple()[:3], tzinfo=UTC)
    name = partitions.partition_name(month)
    user, _created = User.objects.get_or_create(username="bench-retention")
    step = (end - start) / args.rows
    if name not in partitions.existing_partitions().values() or "0 rows" in sizes(name):
        rng, started = random.Random(1), time.monotonic()  # noqa: S311
        for first in range(0, args.rows, CHUNK):
            requests_store([
                RequestRow(request_id=f"ret-{i}", created_at=start + step * i, user_id=user.pk, model="m",
                           original_model="m", endpoint="/v1/messages", status_code=200,
                           input_tokens=rng.randint(1, 9999), output_tokens=rng.randint(1, 999), duration_ms=500)
                for i in range(first, min(first + CHUNK, args.rows))
            ])  # fmt: skip
            print(f"  loaded {min(first + CHUNK, args.rows):,} rows ({time.monotonic() - started:.0f} s)", flush=True)
    cutoff = start + step * args.purge
    cutoff = cutoff.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    row = SystemSettings.get()
    row.log_retention_days = (now - cutoff).days
    row.save()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'VACUUM (ANALYZE) "{name}"')
    print(f"before: {name}: {sizes(name)}")
    started = time.monotonic()
    purge = retention_apply(now=now)
    elapsed = time.monotonic() - started
    print(f"purge: {purge.deleted:,} rows deleted before {purge.cutoff:%Y-%m-%d %H:%M} in {elapsed:.0f} s "
          f"({purge.deleted / max(elapsed, 0.001):,.0f} rows/s), vacuumed {purge.vacuumed}, "
          f"rewritten {purge.compacted}")  # fmt: skip
    print(f"after:  {name}: {sizes(name)}")


if __name__ == "__main__":
    main()
