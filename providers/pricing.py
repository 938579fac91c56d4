"""What a request cost (DESIGN decision 4).

cost = sum over token kinds of (tokens x price per million) x provider multiplier,
in Decimal, USD. Cache writes (5-minute and 1-hour apart) and cache reads have prices
of their own; where the price table lacks one, the provider's published ratio to the
input price applies and the breakdown says so. A model without a price gets no cost
(None), never a guessed 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from providers.models import ModelPrice

MILLION = Decimal(1_000_000)
COST_PLACES = Decimal("0.0000000001")  # MessageRequest.cost has 10 decimal places

# Published cache prices as ratios of the input price, used only when a price row
# leaves them empty: (5-minute write, 1-hour write, read).
#   claude: writes 1.25x (5 min) and 2x (1 h), reads 0.1x (Anthropic prompt caching)
#   openai: no write surcharge, reads 0.5x (the least discount OpenAI lists)
#   gemini: reads 0.25x (Gemini 2.5 context caching; storage is billed apart)
#   deepseek: reads 0.1x (cache-hit input price); qwen: implicit cache reads 0.2x
#   others: no discount assumed, so an unknown provider is never under-billed
CACHE_RATIOS: dict[str, tuple[Decimal, Decimal, Decimal]] = {
    "claude": (Decimal("1.25"), Decimal("2"), Decimal("0.1")),
    "openai": (Decimal("1"), Decimal("1"), Decimal("0.5")),
    "gemini": (Decimal("1"), Decimal("1"), Decimal("0.25")),
    "deepseek": (Decimal("1"), Decimal("1"), Decimal("0.1")),
    "qwen": (Decimal("1.25"), Decimal("1.25"), Decimal("0.2")),
}
NO_DISCOUNT = (Decimal("1"), Decimal("1"), Decimal("1"))


@dataclass(frozen=True)
class Tokens:
    input: int = 0
    output: int = 0
    cache_creation: int = 0
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0
    cache_read: int = 0


@dataclass(frozen=True)
class Cost:
    amount: Decimal | None  # None: the model has no price
    breakdown: dict  # each token kind: tokens, price per million, whether a ratio gave the price


def _ratios(provider_type: str) -> tuple[Decimal, Decimal, Decimal]:
    if provider_type == "openai-compatible":
        provider_type = "openai"
    return CACHE_RATIOS.get(provider_type, NO_DISCOUNT)


class PriceBook:
    """All prices, loaded once, looked up in memory (ingest prices thousands of rows a call)."""

    def __init__(self, prices: list[ModelPrice]) -> None:
        self._by_key: dict[tuple[str, str], list[ModelPrice]] = {}
        self._found: dict[tuple[str, str, date], ModelPrice | None] = {}
        self._rate_cache: dict[tuple, tuple] = {}
        for price in sorted(prices, key=lambda p: p.effective_from, reverse=True):
            self._by_key.setdefault((price.model, price.provider_type), []).append(price)

    @classmethod
    def load(cls) -> PriceBook:
        return cls(list(ModelPrice.objects.all()))

    def find(self, model: str, provider_type: str, on: date) -> ModelPrice | None:
        """The price in force on that day: the provider type's own, else the any-provider one,
        else the model's list price under another provider type (a model's price is its vendor's,
        whoever resells it)."""
        key = (model, provider_type, on)
        if key not in self._found:
            self._found[key] = self._find(model, provider_type, on)
        return self._found[key]

    def _find(self, model: str, provider_type: str, on: date) -> ModelPrice | None:
        candidates = [self._by_key.get((model, provider_type), ()), self._by_key.get((model, ""), ())]
        candidates += [
            prices for (name, kind), prices in self._by_key.items() if name == model and kind not in (provider_type, "")
        ]
        for prices in candidates:
            for price in prices:
                if price.effective_from <= on:
                    return price
        return None

    def _rates(self, price: ModelPrice, provider_type: str, multiplier: Decimal) -> tuple:
        """Per token kind: (price per million as written, cost of one token, priced by ratio).
        Worked out once per price and multiplier: ingest prices thousands of rows a call."""
        key = (price.pk, price.effective_from, provider_type, multiplier)
        if key not in self._rate_cache:
            ratio_5m, ratio_1h, ratio_read = _ratios(provider_type or price.provider_type)
            per_million = {
                "input": (price.input_price, False),
                "output": (price.output_price, False),
                "cache_creation_5m": _price_or_ratio(price.cache_creation_price, price.input_price, ratio_5m),
                "cache_creation_1h": _price_or_ratio(price.cache_creation_1h_price, price.input_price, ratio_1h),
                "cache_read": _price_or_ratio(price.cache_read_price, price.input_price, ratio_read),
            }
            # price / 10^6 x multiplier is exact in Decimal, so count x rate equals
            # count x price / 10^6 x multiplier to the last digit.
            self._rate_cache[key] = tuple(
                (kind, _plain(value), value / MILLION * multiplier, from_ratio)
                for kind, (value, from_ratio) in per_million.items()
            )
        return self._rate_cache[key]

    def cost(self, *, model: str, provider_type: str, multiplier: Decimal, tokens: Tokens, on: date) -> Cost:
        price = self.find(model, provider_type, on)
        if price is None:
            return Cost(amount=None, breakdown={"model": model, "unpriced": True})
        plain_writes = max(tokens.cache_creation - tokens.cache_creation_5m - tokens.cache_creation_1h, 0)
        counts = {
            "input": tokens.input,
            "output": tokens.output,
            "cache_creation_5m": tokens.cache_creation_5m + plain_writes,
            "cache_creation_1h": tokens.cache_creation_1h,
            "cache_read": tokens.cache_read,
        }
        total = Decimal(0)
        kinds: dict = {}
        for kind, per_million, rate, from_ratio in self._rates(price, provider_type, Decimal(multiplier)):
            count = counts[kind]
            if not count:
                continue
            amount = (count * rate).quantize(COST_PLACES)
            total += amount
            kinds[kind] = {"tokens": count, "price_per_million": per_million, "cost": str(amount)}
            if from_ratio:
                kinds[kind]["price_from_ratio"] = True
        breakdown = {
            "model": model,
            "price_effective_from": price.effective_from.isoformat(),
            "multiplier": _plain(Decimal(multiplier)),
            "kinds": kinds,
            "total": str(total),
        }
        return Cost(amount=total, breakdown=breakdown)


def _plain(value: Decimal) -> str:
    """3.000000 -> "3", 0.300000 -> "0.3": prices as people write them, never in exponent form."""
    return format(value.normalize(), "f")


def _price_or_ratio(explicit: Decimal | None, input_price: Decimal, ratio: Decimal) -> tuple[Decimal, bool]:
    if explicit is not None:
        return explicit, False
    return (input_price * ratio).normalize(), True
