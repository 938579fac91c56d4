"""Records/s of the pricing step alone (``PriceBook.cost``), the part of ingest that runs per record.

No database rows are read or written: the price book is built with no admin prices, so every
record is priced from the built-in catalogue, as a fresh hub prices real traffic. The mix is
what gateways send: base names, dated snapshots, gateway prefixes, a few unknown models, a few
long prompts (tiered prices), tokens of every kind.

    .venv/bin/python bench/pricing.py [--records 200000] [--repeat 3]

The first pass over a name resolves it in the catalogue (genai-prices' matching); later ones
come from the price book's caches, which is what an ingest call of thousands of records sees.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# (model as reported, hub provider type, weight)
MIX = [
    ("claude-sonnet-4-5-20250929", "claude", 25),
    ("claude-sonnet-4-5", "claude", 10),
    ("claude-haiku-4-5-20251001", "claude", 6),
    ("claude-opus-4-5", "claude", 4),
    ("gpt-4o-2024-08-06", "openai", 8),
    ("gpt-5-mini", "openai", 8),
    ("gpt-5-2025-08-07", "openai", 6),
    ("gpt-4.1-mini-2025-04-14", "openai", 4),
    ("gemini-2.5-pro", "gemini", 6),
    ("gemini-2.5-flash", "gemini", 6),
    ("deepseek-chat", "deepseek", 5),
    ("qwen3-max", "qwen", 4),
    ("qwen-plus", "qwen", 3),
    ("openai/gpt-4o", "openai-compatible", 3),
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", "other", 2),
    ("llama-3.3-70b-instruct", "other", 2),  # no price anywhere
]


def make_records(count: int, seed: int) -> list[tuple]:
    from providers.pricing import Tokens

    rng = random.Random(seed)
    weights = [weight for _, _, weight in MIX]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    records = []
    for i in range(count):
        model, kind, _weight = rng.choices(MIX, weights=weights)[0]
        long_prompt = rng.random() < 0.03  # above the 200k / 32k tiers
        tokens = Tokens(
            input=rng.randrange(210_000, 260_000) if long_prompt else rng.randrange(20, 3000),
            output=rng.randrange(1, 2000),
            cache_creation=(writes := rng.choice((0, 0, 0, rng.randrange(1000, 9000)))),
            cache_creation_5m=writes,
            cache_read=rng.choice((0, rng.randrange(1000, 50_000))),
        )
        records.append((model, kind, tokens, start + timedelta(seconds=i * 7)))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _http import setup_django

    setup_django()
    from decimal import Decimal

    from providers.pricing import PriceBook

    records = make_records(args.records, seed=1)
    multiplier = Decimal("1")
    for attempt in range(1, args.repeat + 1):
        book = PriceBook([])  # a new book per pass, as each ingest call makes one
        started = time.perf_counter()
        priced = 0
        for model, kind, tokens, moment in records:
            cost = book.cost(model=model, provider_type=kind, multiplier=multiplier, tokens=tokens, at=moment)
            priced += cost.amount is not None
        elapsed = time.perf_counter() - started
        print(
            f"pass {attempt}: {len(records):,} records in {elapsed:.2f} s = {len(records) / elapsed:,.0f} records/s "
            f"({priced:,} priced)"
        )


if __name__ == "__main__":
    main()
