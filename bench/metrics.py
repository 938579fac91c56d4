"""/metrics scrape time over HTTP (issue: p95 < 200 ms with 10M request rows, 10,000 keys, 300 models).

    .venv/bin/python bench/metrics.py [--rows 1000000] [--days 30] [--runs 20] [--every 1]

Creates, once, 2,000 users with 10,000 keys, 10 providers and 300 models, then adds request rows
until the table holds ``--rows`` (time-ordered COPY through the one write path, each key using a
few models of its own), rolls every hour up, and times GET /metrics through gunicorn three ways:

- cache off (METRICS_CACHE_SECONDS=0): every scrape reads the database, which is also what one
  build of the text costs the worker;
- cache on, no worker: the first scrape builds, the next ones within two intervals read Redis;
- as deployed: a Celery worker with beat builds the text every 5 s while scrapes come every
  ``--every`` seconds; every scrape should read Redis.

Prints the series count and the cumulative table's size.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _http import gunicorn, percentile, setup_django, table_rows

USERS, KEYS, PROVIDERS, MODELS = 2_000, 10_000, 10, 300
ENDPOINTS = ("/v1/chat/completions", "/v1/messages", "/v1/responses")
CHUNK = 50_000


def ensure_world():
    from hub.models import KEY_PREFIX, ApiKey, User, hash_key_secret
    from providers.models import Provider

    if ApiKey.objects.filter(name__startswith="bench-key-").count() >= KEYS:
        return
    users = User.objects.bulk_create([User(username=f"bench-user-{i}") for i in range(USERS)], ignore_conflicts=True)
    users = list(User.objects.filter(username__startswith="bench-user-").values_list("pk", flat=True))
    keys = []
    for i in range(KEYS):
        secret = f"{KEY_PREFIX}bench{i:08d}"
        keys.append(ApiKey(name=f"bench-key-{i}", owner_id=users[i % len(users)], prefix=f"uhk_b{i:07d}",
                           secret_hash=hash_key_secret(secret)))  # fmt: skip
    ApiKey.objects.bulk_create(keys, ignore_conflicts=True, batch_size=2_000)
    Provider.objects.bulk_create(
        [Provider(name=f"bench-provider-{i}", type="other") for i in range(PROVIDERS)], ignore_conflicts=True
    )


def load(rows: int, days: int) -> None:
    import usage.tasks
    from hub.models import ApiKey
    from providers.models import Provider
    from usage.bulk import RequestRow
    from usage.models import MessageRequest
    from usage.services import requests_store

    present = MessageRequest.objects.count()
    if present >= rows * 0.98:
        return
    usage.tasks.rollups_process.delay = lambda *args, **kwargs: None  # rolled up below, in this process
    rng = random.Random(present)  # noqa: S311
    keys = list(ApiKey.objects.filter(name__startswith="bench-key-").values_list("pk", "owner_id"))
    providers = list(Provider.objects.filter(name__startswith="bench-provider-").values_list("pk", flat=True))
    models = [f"bench-model-{i:03d}" for i in range(MODELS)]
    favourites = {key: [models[int(rng.paretovariate(1.2) * 7) % MODELS] for _ in range(3)] for key, _ in keys}
    wanted = rows - present
    end = datetime.now(UTC) - timedelta(hours=2)
    start = end - timedelta(days=days)
    step = (end - start) / wanted
    moment, written, started = start, 0, time.monotonic()
    while written < wanted:
        batch = []
        for _ in range(min(CHUNK, wanted - written)):
            key, user = keys[int(rng.paretovariate(1.1) * 50) % len(keys)]
            model = rng.choice(favourites[key])
            status = 200 if rng.random() > 0.03 else rng.choice((429, 500, 400))
            moment += step
            batch.append(RequestRow(
                request_id=f"bench-{present + written + len(batch)}", created_at=moment, user_id=user, key_id=key,
                provider_id=providers[hash(model) % len(providers)], model=model, original_model=model,
                endpoint=ENDPOINTS[hash(model) % 3], status_code=status, is_stream=rng.random() < 0.6,
                input_tokens=rng.randint(10, 20_000), output_tokens=rng.randint(1, 4_000),
                cache_read_tokens=rng.choice((0, 0, rng.randint(0, 50_000))), duration_ms=rng.randint(200, 60_000),
                ttft_ms=rng.randint(50, 3_000),
            ))  # fmt: skip
        requests_store(batch)
        written += len(batch)
        print(f"  loaded {present + written:,} rows ({time.monotonic() - started:.0f} s)", flush=True)


def roll_up() -> None:
    from usage import rollups
    from usage.models import RollupHour

    started = time.monotonic()
    while done := rollups.rollup_dirty(limit=100):
        left = RollupHour.objects.filter(dirty=True).count()
        print(f"  rolled up {done} hours, {left} dirty left ({time.monotonic() - started:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between scrapes, as deployed")
    args = parser.parse_args()
    os.environ["METRICS_CACHE_SECONDS"] = "0"
    setup_django()
    from django.db import connection

    from hub.models import User
    from hub.services import api_key_create
    from usage.models import UsageTotal, UsageTotalRoute

    ensure_world()
    load(args.rows, args.days)
    roll_up()
    admin, _created = User.objects.get_or_create(username="bench-metrics-admin", defaults={"role": User.Role.ADMIN})
    key = api_key_create(owner=admin, name="bench scrape", scope_ingest=False, scope_read=False, scope_metrics=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE message_request")
        cursor.execute("SELECT count(DISTINCT model) FROM usage_total")
        models = cursor.fetchone()[0]
    print(f"rows in message_request (estimate): {table_rows():,}; usage_total rows: {UsageTotal.objects.count():,}; "
          f"route rows: {UsageTotalRoute.objects.count():,}; models: {models}; keys: {KEYS:,}")  # fmt: skip
    import http.client

    scenarios = (
        ("cache off (every scrape reads the database)", "0", False, 0.0),
        ("cache on (5 s), no worker", "5", False, 0.0),
        (f"as deployed (worker + beat build every 5 s, a scrape every {args.every:g} s)", "5", True, args.every),
    )
    for label, cache_seconds, with_worker, every in scenarios:
        os.environ["METRICS_CACHE_SECONDS"] = cache_seconds
        with gunicorn() as (port, _worker), celery(with_worker):
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            headers = {"Authorization": f"Bearer {key.secret}", "Accept-Encoding": "gzip"}  # as Prometheus
            times, series, built = [], 0, set()
            for run in range(args.runs + 1):
                started = time.perf_counter()
                client.request("GET", "/metrics", headers=headers)
                response = client.getresponse()
                body = response.read()
                assert response.status == 200, body[:200]
                if run:  # the first one warms the process (and, as deployed, asks the worker to build)
                    times.append((time.perf_counter() - started) * 1000)
                text = gzip.decompress(body)
                series = sum(1 for line in text.split(b"\n") if line and not line.startswith(b"#"))
                built.add(next(line for line in text.split(b"\n") if line.startswith(b"llm_hub_metrics_built_")))
                time.sleep(every)
        print(f"/metrics, {label}: p50 {percentile(times, 0.5):.0f} ms, p95 {percentile(times, 0.95):.0f} ms, "
              f"max {max(times):.0f} ms; {series:,} series, {len(text):,} bytes ({len(body):,} gzipped); "
              f"{len(built)} builds served")  # fmt: skip


@contextmanager
def celery(run: bool):
    """A Celery worker with beat embedded (the deployed schedule), or nothing."""
    if not run:
        yield
        return
    with tempfile.TemporaryDirectory() as folder:
        worker = subprocess.Popen(  # noqa: S603
            [str(Path(sys.executable).parent / "celery"), "-A", "hub", "worker", "-B", "--concurrency", "1",
             "--loglevel", "WARNING", "--schedule", str(Path(folder) / "beat-schedule")],
            cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        try:
            time.sleep(8)  # the worker connects and beat sends its first round
            yield
        finally:
            worker.terminate()
            worker.wait()


if __name__ == "__main__":
    main()
