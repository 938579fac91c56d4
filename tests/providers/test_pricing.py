"""The price book and the cost calculation, tested directly (not only through ingest)."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from providers.models import ModelPrice
from providers.pricing import PriceBook, Tokens

ON = date(2026, 6, 1)


def price(model="claude-x", provider_type="claude", effective_from=date(2026, 1, 1), **prices) -> ModelPrice:
    values = {"input_price": Decimal("3"), "output_price": Decimal("15")}
    values.update(prices)
    return ModelPrice(model=model, provider_type=provider_type, effective_from=effective_from, **values)


def cost(book: PriceBook, *, model="claude-x", provider_type="claude", multiplier="1", on=ON, **tokens):
    return book.cost(model=model, provider_type=provider_type, multiplier=Decimal(multiplier), tokens=Tokens(**tokens),
                     at=datetime.combine(on, time(12), UTC))  # fmt: skip


def test_cost_is_tokens_times_price_per_million_per_kind():
    book = PriceBook([price()])
    result = cost(book, input=1_000_000, output=2_000)
    assert result.amount == Decimal("3") + Decimal("0.03")
    assert result.breakdown["kinds"]["input"] == {"tokens": 1_000_000, "price_per_million": "3", "cost": "3.0000000000"}
    assert result.breakdown["kinds"]["output"]["cost"] == "0.0300000000"


def test_the_provider_multiplier_scales_every_kind():
    book = PriceBook([price()])
    assert cost(book, input=1_000_000, output=1_000_000, multiplier="0.5").amount == Decimal("9")
    assert cost(book, input=1_000_000, multiplier="0.5").breakdown["multiplier"] == "0.5"


def test_cache_writes_and_reads_have_prices_of_their_own():
    book = PriceBook([price(cache_creation_price=Decimal("4"), cache_creation_1h_price=Decimal("6"),
                            cache_read_price=Decimal("0.25"))])  # fmt: skip
    result = cost(book, cache_creation=3_000_000, cache_creation_1h=1_000_000, cache_read=4_000_000)
    kinds = result.breakdown["kinds"]
    # Writes without a TTL split are billed as 5-minute writes.
    assert kinds["cache_creation_5m"]["tokens"] == 2_000_000 and kinds["cache_creation_5m"]["cost"] == "8.0000000000"
    assert kinds["cache_creation_1h"]["cost"] == "6.0000000000"
    assert kinds["cache_read"]["cost"] == "1.0000000000"
    assert result.amount == Decimal("15")
    assert not any(kind.get("price_from_ratio") for kind in kinds.values())


@pytest.mark.parametrize(
    ("provider_type", "read_price"),
    [("claude", "0.3"), ("openai", "1.5"), ("openai-compatible", "1.5"), ("gemini", "0.75"), ("other", "3")],
)
def test_a_missing_cache_price_uses_the_providers_published_ratio_and_says_so(provider_type, read_price):
    book = PriceBook([price(provider_type=provider_type)])
    kinds = cost(book, provider_type=provider_type, cache_read=1_000_000).breakdown["kinds"]
    assert kinds["cache_read"]["price_per_million"] == read_price
    assert kinds["cache_read"]["price_from_ratio"] is True


def test_an_unknown_model_costs_nothing_known_never_zero():
    result = cost(PriceBook([price()]), model="no-such-model", input=1_000)
    assert result.amount is None and result.breakdown == {"model": "no-such-model", "unpriced": True}


def test_the_price_in_force_on_the_requests_day_applies():
    book = PriceBook([price(effective_from=date(2026, 1, 1)),
                      price(effective_from=date(2026, 7, 1), input_price=Decimal("2"))])  # fmt: skip
    assert cost(book, input=1_000_000, on=date(2026, 6, 30)).amount == Decimal("3")
    assert cost(book, input=1_000_000, on=date(2026, 7, 1)).amount == Decimal("2")
    assert cost(book, input=1_000_000, on=date(2025, 12, 31)).amount is None


def test_a_provider_types_own_price_wins_over_the_any_provider_one():
    book = PriceBook([price(provider_type=""), price(provider_type="openai", input_price=Decimal("1"))])
    assert cost(book, provider_type="openai", input=1_000_000).amount == Decimal("1")
    assert cost(book, provider_type="qwen", input=1_000_000).amount == Decimal("3")


def test_costs_keep_ten_decimal_places_and_prices_read_as_people_write_them():
    book = PriceBook([price(input_price=Decimal("0.075000"))])
    result = cost(book, input=1)
    assert result.amount == Decimal("0.0000000750")
    assert result.breakdown["kinds"]["input"]["price_per_million"] == "0.075"
