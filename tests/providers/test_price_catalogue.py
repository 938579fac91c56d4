"""The price book: the catalogue (genai-prices, then the hub's Qwen supplement) under admin prices."""

import importlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.apps import apps

from providers import pricing
from providers.models import ModelPrice
from providers.pricing import PriceBook, Tokens, billed_model, catalogue_model, gateway_forms

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TOKENS = Tokens(input=100_000, output=100_000)  # under every long-context tier


def cost(model, provider_type="", *, tokens=TOKENS, at=AT, multiplier="1", prices=()):
    return PriceBook(list(prices)).cost(
        model=model, provider_type=provider_type, multiplier=Decimal(multiplier), tokens=tokens, at=at
    )


@pytest.mark.parametrize(
    ("model", "provider_type", "catalogue_id", "amount"),
    [
        ("gpt-4o-2024-08-06", "openai", "gpt-4o", "1.25"),  # ($2.5 in + $10 out) / 10
        ("claude-sonnet-4-5-20250929", "claude", "claude-sonnet-4-5", "1.8"),
        ("claude-opus-4-1-20250805", "claude", "claude-opus-4-1", "9"),
        ("gpt-4.1-mini-2025-04-14", "openai", "gpt-4.1-mini", "0.2"),
        ("o4-mini-2025-04-16", "openai", "o4-mini", "0.55"),
    ],
)
def test_dated_snapshots_are_priced_as_their_model(model, provider_type, catalogue_id, amount):
    result = cost(model, provider_type)
    assert result.amount == Decimal(amount)
    assert result.breakdown["model"] == model
    assert result.breakdown["price"]["source"] == pricing.CATALOGUE
    assert result.breakdown["price"]["model"] == catalogue_id


@pytest.mark.parametrize(
    ("model", "provider_type", "catalogue_id"),
    [
        ("openai/gpt-4o", "openai-compatible", "gpt-4o"),
        ("openrouter/openai/gpt-4o", "other", "gpt-4o"),
        ("anthropic/claude-sonnet-4.5", "openai-compatible", "claude-sonnet-4-5"),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", "other", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "gemini", "claude-sonnet-4-5"),
        ("models/gemini-2.5-pro", "gemini", "gemini-2.5-pro"),
        ("deepseek-chat", "openai", "deepseek-chat"),  # another vendor's model behind an OpenAI-type provider
    ],
)
def test_gateway_prefixes_and_suffixes_find_the_vendors_model(model, provider_type, catalogue_id):
    result = cost(model, provider_type)
    assert result.amount is not None
    assert result.breakdown["price"]["model"] == catalogue_id


def test_gateway_forms_strip_what_gateways_add():
    assert gateway_forms("openai/gpt-4o") == ("gpt-4o", "openai")
    assert gateway_forms("eu.anthropic.claude-haiku-4-5-20251001-v1:0") == ("claude-haiku-4-5-20251001", "anthropic")
    assert gateway_forms("gpt-4.1") == ("gpt-4.1", None)  # a dot in a version is not a Bedrock vendor


def test_unknown_models_have_no_cost_never_zero():
    result = cost("internal-llm-9000", "other")
    assert result.amount is None and result.breakdown == {"model": "internal-llm-9000", "unpriced": True}
    assert cost("llama-3.3-70b-instruct", "other").amount is None
    assert cost("", "claude").amount is None


def test_the_price_in_force_at_the_requests_time_is_used():
    # o3's price fell on 2025-06-10 (from $10 / $40 to $2 / $8 per million).
    before = cost("o3", "openai", at=datetime(2025, 6, 9, 23, 0, tzinfo=UTC))
    after = cost("o3", "openai", at=datetime(2025, 6, 10, 0, 30, tzinfo=UTC))
    assert before.amount == Decimal("5") and after.amount == Decimal("1")
    assert before.breakdown["price_effective_from"] is None
    assert after.breakdown["price_effective_from"] == "2025-06-10"
    assert before.breakdown["price"]["entry"] != after.breakdown["price"]["entry"]


def test_off_peak_prices_follow_the_time_of_day():
    # The catalogue's DeepSeek prices: full price 00:30-16:30 UTC, half price otherwise.
    peak = cost("deepseek-chat", "deepseek", at=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    off_peak = cost("deepseek-chat", "deepseek", at=datetime(2026, 3, 2, 20, 0, tzinfo=UTC))
    assert peak.amount == 2 * off_peak.amount
    assert peak.breakdown["price"]["utc_window"] == "00:30-16:30"
    assert "utc_window" not in off_peak.breakdown["price"]


def test_long_prompts_pay_the_long_context_tier_for_all_tokens():
    # Gemini 2.5 Pro: $1.25 / $10 up to 200k prompt tokens, $2.50 / $15 above, cached tokens counted.
    at_limit = cost("gemini-2.5-pro", "gemini", tokens=Tokens(input=150_000, cache_read=50_000, output=1000))
    over = cost("gemini-2.5-pro", "gemini", tokens=Tokens(input=150_001, cache_read=50_000, output=1000))
    assert at_limit.breakdown["kinds"]["input"]["price_per_million"] == "1.25"
    assert "prompt_over" not in at_limit.breakdown["price"]
    assert over.breakdown["kinds"]["input"]["price_per_million"] == "2.5"
    assert over.breakdown["kinds"]["output"]["price_per_million"] == "15"
    assert over.breakdown["kinds"]["cache_read"]["price_per_million"] == "0.25"
    assert over.breakdown["price"]["prompt_over"] == 200_000


def test_qwen_comes_from_the_supplement_with_its_input_tiers():
    small = cost("qwen3-max", "qwen", tokens=Tokens(input=10_000, output=1000))
    middle = cost("qwen3-max", "qwen", tokens=Tokens(input=40_000, output=1000))
    large = cost("qwen3-max-2025-09-23", "qwen", tokens=Tokens(input=130_000, output=1000))
    assert small.breakdown["price"]["source"].startswith("hub supplement")
    assert [r.breakdown["kinds"]["input"]["price_per_million"] for r in (small, middle, large)] == ["1.2", "2.4", "3"]
    assert middle.amount == Decimal("0.108")  # 40,000 x $2.4 + 1,000 x $12 per million
    assert large.breakdown["price"]["prompt_over"] == 128_000


def test_the_supplement_only_fills_what_the_catalogue_lacks():
    for name in pricing._supplement():
        assert pricing._catalogue_find(name, None) is None, f"genai-prices now prices {name}: drop it"


def test_cache_writes_and_reads_have_their_own_prices():
    tokens = Tokens(cache_creation=30_000, cache_creation_5m=10_000, cache_creation_1h=10_000, cache_read=10_000)
    result = cost("claude-sonnet-4-5-20250929", "claude", tokens=tokens)
    kinds = result.breakdown["kinds"]
    # writes of unknown TTL count as 5-minute writes
    assert kinds["cache_creation_5m"] == {"tokens": 20_000, "price_per_million": "3.75", "cost": "0.0750000000"}
    assert kinds["cache_creation_1h"]["price_per_million"] == "6"
    assert kinds["cache_read"]["price_per_million"] == "0.3"
    assert result.amount == Decimal("0.138")  # 0.075 + 10,000 x $6 + 10,000 x $0.3 per million


def test_a_cache_price_the_catalogue_lacks_comes_from_the_published_ratio():
    result = cost("gpt-4o", "openai", tokens=Tokens(cache_creation=1_000_000, cache_read=1_000_000))
    kinds = result.breakdown["kinds"]
    assert kinds["cache_read"]["price_per_million"] == "1.25" and "price_from_ratio" not in kinds["cache_read"]
    assert kinds["cache_creation_5m"]["price_per_million"] == "2.5" and kinds["cache_creation_5m"]["price_from_ratio"]


def test_the_provider_multiplier_applies():
    assert cost("gpt-4o-2024-08-06", "openai", multiplier="0.8").amount == Decimal("1")
    assert cost("gpt-4o-2024-08-06", "openai", multiplier="0.8").breakdown["multiplier"] == "0.8"


def admin_price(**fields):
    values = {"model": "gpt-4o", "provider_type": "openai", "input_price": Decimal("1"), "output_price": Decimal("4"),
              "effective_from": date(2026, 1, 1), "pk": 7}  # fmt: skip
    values.update(fields)
    return ModelPrice(**values)


def test_admin_prices_override_the_catalogue_for_every_name_of_the_model():
    override = admin_price()
    for name in ("gpt-4o", "gpt-4o-2024-08-06", "openai/gpt-4o"):
        result = cost(name, "openai", prices=[override])
        assert result.amount == Decimal("0.5"), name
        assert result.breakdown["price"] == {
            "source": "admin", "model_price_id": 7, "model": "gpt-4o", "provider_type": "openai",
            "effective_from": "2026-01-01",
        }  # fmt: skip
    # Only from its date on: before it, the catalogue's price.
    earlier = cost("gpt-4o-2024-08-06", "openai", prices=[override], at=datetime(2025, 12, 31, tzinfo=UTC))
    assert earlier.amount == Decimal("1.25") and earlier.breakdown["price"]["source"] == pricing.CATALOGUE


def test_admin_prices_name_models_the_catalogue_does_not_know():
    self_hosted = admin_price(model="llama-3.3-70b-instruct", provider_type="other", input_price=Decimal(0),
                              output_price=Decimal(0))  # fmt: skip
    assert cost("llama-3.3-70b-instruct", "other", prices=[self_hosted]).amount == Decimal("0")


def test_a_provider_types_own_admin_price_wins_over_the_any_provider_one():
    any_provider = admin_price(provider_type="", pk=1, input_price=Decimal("2"))
    azure = admin_price(provider_type="openai", pk=2, input_price=Decimal("1"))
    assert cost("gpt-4o", "openai", prices=[any_provider, azure]).breakdown["price"]["model_price_id"] == 2
    assert cost("gpt-4o", "openai-compatible", prices=[any_provider, azure]).breakdown["price"]["model_price_id"] == 1


def test_a_name_is_matched_in_the_catalogue_once_not_per_record(monkeypatch):
    calls = []
    real = pricing._catalogue_find
    monkeypatch.setattr(pricing, "_catalogue_find", lambda *a: calls.append(a) or real(*a))
    catalogue_model.cache_clear()
    book = PriceBook([])
    for _ in range(1000):
        book.cost(model="gpt-4o-2024-08-06", provider_type="openai", multiplier=Decimal(1), tokens=TOKENS, at=AT)
    assert len(calls) == 1
    catalogue_model.cache_clear()


def test_billing_follows_the_model_that_ran_unless_told_to_bill_the_original():
    assert billed_model(model="gpt-4.1", original_model="gpt-4o", bill_original=False) == "gpt-4.1"
    assert billed_model(model="gpt-4.1", original_model="gpt-4o", bill_original=True) == "gpt-4o"
    assert billed_model(model="gpt-4.1", original_model="", bill_original=True) == "gpt-4.1"


@pytest.mark.django_db
def test_the_migration_drops_the_hand_kept_prices_an_admin_left_as_loaded():
    migration = importlib.import_module("providers.migrations.0004_catalogue_replaces_shipped_prices")
    common = {"effective_from": migration.TAKEN, "source": migration.SOURCE[:255], "provider_type": "claude"}
    ModelPrice.objects.create(model="claude-sonnet-4-5", input_price=3, output_price=15, cache_creation_price="3.75",
                              cache_creation_1h_price=6, cache_read_price="0.3", **common)  # fmt: skip
    edited = ModelPrice.objects.create(model="claude-opus-4-5", input_price=4, output_price=25,
                                       cache_creation_price="6.25", cache_creation_1h_price=10, cache_read_price="0.5",
                                       **common)  # fmt: skip
    own = ModelPrice.objects.create(model="claude-sonnet-4-5", provider_type="", input_price=2, output_price=10)
    migration.forget(apps, None)
    assert set(ModelPrice.objects.values_list("pk", flat=True)) == {edited.pk, own.pk}
