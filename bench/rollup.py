"""Time to roll up one hour of 100,000 requests (issue: < 2 s).

Writes 100k demo-like rows into one hour far from the demo data (2026-10-01 03:00 UTC by
default), times ``rollup_hour`` on it a few times, checks the sums against raw rows, and
removes the rows and their rollups again.

    .venv/bin/python bench/rollup.py [--rows 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hour", default="2026-10-01T03:00:00+00:00")
    args = parser.parse_args()

    from hub import embedded

    os.environ.update(embedded.environment_urls()[0])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.production")
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count, Sum

    from hub.models import User
    from usage import rollups
    from usage.bulk import RequestRow
    from usage.models import MessageRequest, RollupHour, UsageHourly
    from usage.services import requests_store

    hour = datetime.fromisoformat(args.hour).astimezone(UTC)
    users = list(User.objects.values_list("pk", flat=True)[:20])
    rng = random.Random(3)
    prefix = f"bench-rollup-{int(time.time())}"
    rows = []
    for i in range(args.rows):
        model = rng.choice(["claude-sonnet-4-5", "gpt-5", "gemini-2.5-pro", "o3"])
        rows.append(RequestRow(
            request_id=f"{prefix}-{i}", created_at=hour + timedelta(microseconds=rng.randrange(3_600_000_000)),
            user_id=rng.choice(users), model=model, original_model=model,
            endpoint=rng.choice(["/v1/messages", "/v1/chat/completions"]),
            status_code=rng.choice([200] * 30 + [429, 500]), is_stream=rng.random() < 0.7,
            input_tokens=rng.randrange(5000), output_tokens=rng.randrange(2000), cache_read_tokens=rng.randrange(20000),
            cost=Decimal(rng.randrange(1, 10**6)) / 10**8, duration_ms=rng.randrange(100, 60000),
            ttft_ms=rng.randrange(100, 3000),
        ))  # fmt: skip
    requests_store(rows)  # the one write path: the hour is marked dirty like any ingest's
    with connection.cursor() as cursor:
        cursor.execute('ANALYZE "message_request"')
    in_hour = MessageRequest.objects.filter(created_at__gte=hour, created_at__lt=hour + rollups.HOUR)
    try:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            rollups.rollup_hour(hour)
            times.append(time.perf_counter() - started)
        raw = in_hour.aggregate(n=Count("id"), tokens=Sum("input_tokens"), cost=Sum("cost"))
        rolled = UsageHourly.objects.filter(hour=hour).aggregate(n=Sum("requests"), tokens=Sum("input_tokens"),
                                                                 cost=Sum("cost"))  # fmt: skip
        groups = UsageHourly.objects.filter(hour=hour).count()
        print(f"hour {hour:%Y-%m-%d %H:00} UTC: {raw['n']:,} raw rows -> {groups:,} rollup rows")
        print("rollup_hour: " + ", ".join(f"{t:.2f} s" for t in times) + f" (best {min(times):.2f} s)")
        print(f"sums equal to raw rows: {raw == rolled}")
    finally:
        in_hour.filter(request_id__startswith=prefix).delete()
        rollups.rollup_hour(hour)
        if not in_hour.exists():
            UsageHourly.objects.filter(hour=hour).delete()
            RollupHour.objects.filter(hour=hour).delete()


if __name__ == "__main__":
    main()
