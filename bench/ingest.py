"""Ingest throughput through the HTTP API (issue: sustained >= 10,000 records/s).

Starts gunicorn on a free loopback port against the configured database (the embedded
one unless DATABASE_URL is set), then one client POSTs batches of native records with
keep-alive and measures:
  1. a first send of N records (all new),
  2. the same N records again (all duplicates: must store 0 and be no slower).

    .venv/bin/python bench/ingest.py [--records 100000] [--batch 1000] [--workers 2] [--clients 1]

Load the table first for a realistic index size, e.g. ``manage.py demo_data --rows 5000000``.
The rate limit is lifted for the run and restored afterwards.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from _http import gunicorn, setup_django, table_rows


def make_records(count: int, run: str, seed: int) -> list[dict]:
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=6)
    # Names as providers and gateways report them: dated snapshots and prefixes, priced through the catalogue.
    models = ["claude-sonnet-4-5-20250929", "gpt-5-mini-2025-08-07", "gemini-2.5-flash", "deepseek-chat", "qwen-plus",
              "openai/gpt-4o", "claude-haiku-4-5"]  # fmt: skip
    records = []
    for i in range(count):
        model = rng.choice(models)
        records.append(
            {
                "request_id": f"bench-{run}-{i}",
                "created_at": (start + timedelta(milliseconds=i * 150)).isoformat().replace("+00:00", "Z"),
                "model": model,
                "provider": "bench-provider",
                "endpoint": "/v1/chat/completions",
                "status_code": 200 if rng.random() > 0.03 else 429,
                "is_stream": rng.random() < 0.7,
                "input_tokens": rng.randrange(50, 4000),
                "output_tokens": rng.randrange(10, 2000),
                "cache_read_tokens": rng.randrange(0, 20000),
                "duration_ms": rng.randrange(300, 30000),
                "ttft_ms": rng.randrange(100, 3000),
                "session_id": f"bench-session-{i // 20}",
                "user_agent": "bench/1.0",
            }
        )
    return records


def send_all(port: int, secret: str, records: list[dict], batch: int, clients: int = 1) -> tuple[float, dict]:
    """Send ``records`` in batches; with several clients (as a gateway's several processes
    would), each on its own keep-alive connection takes every n-th batch."""
    bodies = [json.dumps(records[i : i + batch]).encode() for i in range(0, len(records), batch)]
    totals = {"stored": 0, "duplicates": 0, "conflicts": 0, "rejected": 0}
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    lock, failures = threading.Lock(), []

    def client(share: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for body in share:
            connection.request("POST", "/api/v1/ingest/records", body=body, headers=headers)
            response = connection.getresponse()
            payload = json.loads(response.read())
            if response.status != 200:
                failures.append(f"HTTP {response.status}: {payload}")
                return
            with lock:
                for name in totals:
                    totals[name] += payload[name]
        connection.close()

    threads = [threading.Thread(target=client, args=(bodies[n::clients],)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(failures[0])
    return time.perf_counter() - started, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=1, help="concurrent senders, each its own connection")
    args = parser.parse_args()

    setup_django()
    from hub.models import SystemSettings, User
    from hub.services import api_key_create
    from providers.models import Provider
    from usage.models import MessageRequest

    user, _ = User.objects.get_or_create(username="bench", defaults={"display_name": "Benchmark"})
    Provider.objects.get_or_create(name="bench-provider", defaults={"type": "openai-compatible"})
    secret = api_key_create(owner=user, name=f"bench-{uuid.uuid4().hex[:6]}").secret
    system = SystemSettings.get()
    saved_limit = system.ingest_rate_per_minute
    system.ingest_rate_per_minute = 0
    system.save()

    rows_before = table_rows()
    try:
        with gunicorn(workers=args.workers) as (port, _worker):
            run = uuid.uuid4().hex[:8]
            records = make_records(args.records, run, args.seed)
            # Warm-up: a few batches through every worker (each opens its database connection).
            warm = make_records(2 * args.batch * args.workers, uuid.uuid4().hex[:8], args.seed)
            send_all(port, secret, warm, args.batch, args.workers)
            first, first_totals = send_all(port, secret, records, args.batch, args.clients)
            second, second_totals = send_all(port, secret, records, args.batch, args.clients)
    finally:
        system.ingest_rate_per_minute = saved_limit
        system.save()

    stored = MessageRequest.objects.filter(request_id__startswith=f"bench-{run}-").count()
    print(f"table rows before (estimate): {rows_before:,}")
    print(
        f"records: {args.records:,} in batches of {args.batch:,}, gunicorn workers: {args.workers}, "
        f"clients: {args.clients}"
    )
    print(f"first send:  {first:6.2f} s  {args.records / first:9,.0f} records/s  {first_totals}")
    print(f"second send: {second:6.2f} s  {args.records / second:9,.0f} records/s  {second_totals}")
    print(f"rows stored for this run: {stored:,}; resend no slower: {second <= first}")


if __name__ == "__main__":
    main()
