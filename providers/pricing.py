"""What a request cost (DESIGN decision 4).

cost = sum over token kinds of (tokens x price per million) x provider multiplier, in
Decimal, USD. Cache writes (5-minute and 1-hour apart) and cache reads have prices of their
own; where a price lacks one, the provider's published ratio to the input price applies and
the breakdown says so. A model without a price gets no cost (None), never a guessed 0.

Where prices come from, first match wins:
  1. the admin's ``ModelPrice`` rows (negotiated prices, self-hosted models), for the model
     they name under its reported name, its name without gateway prefixes, or the
     catalogue's name for it (a row for ``gpt-4o`` also prices ``gpt-4o-2024-08-06``);
  2. the maintained catalogue, genai-prices: dated snapshots and aliases, prices that changed
     over time, long-context tiers, cache read and write prices;
  3. the hub's supplement (``providers/data/catalogue_supplement.json``) for what the
     catalogue lacks: Alibaba Cloud Model Studio's Qwen models, with their input tiers.

Every row's breakdown names the source and the price entry that priced it.

Speed: ingest prices every record. Resolving a name in the catalogue walks hundreds of
match rules, so a name's resolution is cached per process (``_resolve``, bounded); the
entry in force per day and the per-kind rates are cached per price book (one per call).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cached_property, lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple

from providers.models import ModelPrice

MILLION = Decimal(1_000_000)
COST_PLACES = Decimal("0.0000000001")  # MessageRequest.cost has 10 decimal places
SUPPLEMENT = Path(__file__).resolve().parent / "data" / "catalogue_supplement.json"
CATALOGUE = f"genai-prices {version('genai-prices')}"
KINDS = ("input", "output", "cache_creation_5m", "cache_creation_1h", "cache_read")

# Published cache prices as ratios of the input price, used only when a price leaves them
# empty: (5-minute write, 1-hour write, read).
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

# The hub's provider types and the catalogue's provider ids (None: the catalogue has no such
# provider, or the type says nothing about the vendor; the model's name then tells).
CATALOGUE_PROVIDERS: dict[str, str | None] = {
    "claude": "anthropic",
    "openai": "openai",
    "gemini": "google",
    "deepseek": "deepseek",
    "qwen": None,
    "openai-compatible": None,
    "other": None,
}
# Prefixes gateways put before a model's name ("openai/gpt-4o", "anthropic.claude-…" on Bedrock,
# "models/gemini-…" in Gemini URLs) and the vendor they name, if any.
VENDORS = {
    "openai": "openai", "azure": "openai", "anthropic": "anthropic", "claude": "anthropic", "google": "google",
    "gemini": "google", "vertex_ai": "google", "vertex": "google", "deepseek": "deepseek", "deepseek-ai": "deepseek",
    "qwen": "qwen", "alibaba": "qwen", "dashscope": "qwen",
}  # fmt: skip
_BEDROCK = re.compile(r"^(?:(?:us|eu|apac|ap|au|ca|jp|global|us-gov)\.)?([a-z0-9-]+)\.(.+?)(?:-v\d+)?(?::\d+)?$")
_BEDROCK_VENDORS = frozenset(VENDORS) | {"meta", "mistral", "amazon", "cohere", "ai21", "writer"}
_DATE_SUFFIX = re.compile(r"-(?:20\d\d-\d\d-\d\d|20\d{6}|\d{4})$")
# Catalogue price keys and the hub's token kinds.
_CATALOGUE_KEYS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_write_mtok": "cache_creation_5m",
    "cache_write_1h_mtok": "cache_creation_1h",
    "cache_read_mtok": "cache_read",
}


class Tokens(NamedTuple):
    """A request's token counts, as pricing reads them (a named tuple: one is built per record
    on the write path, where a frozen dataclass took twice as long)."""

    input: int = 0
    output: int = 0
    cache_creation: int = 0
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0
    cache_read: int = 0

    @property
    def prompt(self) -> int:
        """The whole prompt, cached parts included: what long-context tiers are chosen by."""
        return self.input + self.cache_creation + self.cache_read


@dataclass(frozen=True)
class Cost:
    amount: Decimal | None  # None: the model has no price
    breakdown: dict  # the price's source and entry, then each token kind: tokens, price per million, cost


# A price per million tokens: a plain Decimal, or (base, ((threshold, price), ...)) where a
# prompt of more than a threshold's tokens pays that tier's price for all its tokens.
Price = Decimal | tuple[Decimal, tuple[tuple[int, Decimal], ...]]


@dataclass(frozen=True)
class Entry:
    """One set of prices of a catalogue model, in force from ``since`` (None: from the start)
    or during a daily UTC window (off-peak prices)."""

    prices: dict[str, Price]  # token kind -> price per million
    since: date | None = None
    window: tuple[time, time] | None = None
    index: int = 0  # its position among the model's entries, for the breakdown

    def active(self, at: datetime) -> bool:
        if self.window is not None:
            moment = at.astimezone(UTC).timetz().replace(tzinfo=None)
            start, end = self.window
            return moment >= start or moment < end if end < start else start <= moment < end
        return self.since is None or at.astimezone(UTC).date() >= self.since

    @cached_property
    def thresholds(self) -> tuple[int, ...]:
        """Every tier threshold of any kind, ascending: a prompt's bucket among them picks all its prices."""
        return tuple(
            sorted({start for value in self.prices.values() if isinstance(value, tuple) for start, _ in value[1]})
        )


@dataclass(frozen=True)
class CatalogueModel:
    """A model as the catalogue (or the supplement) prices it: entries in the order the source
    lists them; the last one in force wins."""

    source: str  # "genai-prices 0.2.3" or "hub supplement 2025-11-01"
    provider: str  # the source's provider id
    model: str  # the source's model id
    entries: tuple[Entry, ...]

    @cached_property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.provider, self.model)

    @cached_property
    def by_day(self) -> bool:
        """Whether the entry in force depends on the day only (no off-peak windows)."""
        return all(entry.window is None for entry in self.entries)

    def entry_at(self, at: datetime) -> Entry:
        for entry in reversed(self.entries):
            if entry.active(at):
                return entry
        return self.entries[0]


# --------------------------------------------------------------------------- names


def gateway_forms(model: str) -> tuple[str, str | None]:
    """(the vendor's own name, the vendor a prefix named) for a name as a gateway sends it:
    ``openai/gpt-4o`` -> (gpt-4o, openai); ``us.anthropic.claude-sonnet-4-5-20250929-v1:0``
    -> (claude-sonnet-4-5-20250929, anthropic); ``claude-sonnet-4-5@20250929`` (Vertex) ->
    (claude-sonnet-4-5-20250929, None); ``models/gemini-2.5-pro`` -> (gemini-2.5-pro, None)."""
    name = model.strip().lower()
    vendor = None
    while "/" in name:
        prefix, name = name.split("/", 1)
        vendor = VENDORS.get(prefix, vendor)
    bedrock = _BEDROCK.match(name)
    if bedrock and bedrock.group(1) in _BEDROCK_VENDORS:
        vendor = VENDORS.get(bedrock.group(1), vendor)
        name = bedrock.group(2)
    return name.replace("@", "-"), vendor


def _price(value: Any) -> Price:
    if isinstance(value, Decimal):
        return value
    return (Decimal(value.base), tuple((int(tier.start), Decimal(tier.price)) for tier in value.tiers))


def _from_catalogue(provider, info) -> CatalogueModel:
    from genai_prices.types import ConditionalPrice, StartDateConstraint, TimeOfDateConstraint

    prices = info.prices if isinstance(info.prices, list) else [ConditionalPrice(prices=info.prices)]
    entries = []
    for index, conditional in enumerate(prices):
        kinds = {
            kind: _price(getattr(conditional.prices, key))
            for key, kind in _CATALOGUE_KEYS.items()
            if getattr(conditional.prices, key, None) is not None
        }
        constraint = conditional.constraint
        since = constraint.start_date if isinstance(constraint, StartDateConstraint) else None
        window = (
            (constraint.start_time.replace(tzinfo=None), constraint.end_time.replace(tzinfo=None))
            if isinstance(constraint, TimeOfDateConstraint)
            else None
        )  # the catalogue writes its windows in UTC
        entries.append(Entry(prices=kinds, since=since, window=window, index=index))
    return CatalogueModel(source=CATALOGUE, provider=provider.id, model=info.id, entries=tuple(entries))


@lru_cache(maxsize=1)
def _catalogue():
    from genai_prices import data_snapshot

    return data_snapshot.get_snapshot().providers


def _catalogue_find(name: str, provider_id: str | None) -> CatalogueModel | None:
    """Ask the catalogue's own providers directly (their ``find_model``), not its lookup
    helpers: those keep every miss in an unbounded set, and names come from clients."""
    providers = _catalogue()
    if provider_id is not None:
        candidates = [p for p in providers if p.id == provider_id]
    else:
        candidates = [p for p in providers if p.model_match is not None and p.model_match.is_match(name)]
    for provider in candidates:
        info = provider.find_model(name, all_providers=providers)
        if info is not None:
            return _from_catalogue(provider, info)
    return None


@lru_cache(maxsize=1)
def _supplement() -> dict[str, CatalogueModel]:
    data = json.loads(SUPPLEMENT.read_text(encoding="utf-8"))
    source = f"hub supplement {data['taken']}"
    found: dict[str, CatalogueModel] = {}
    for item in data["models"]:
        entries = []
        for index, raw in enumerate(item["prices"]):
            kinds: dict[str, Price] = {}
            for kind in KINDS:
                value = raw.get(kind)
                if isinstance(value, dict):
                    kinds[kind] = (Decimal(value["base"]), tuple((int(s), Decimal(p)) for s, p in value["tiers"]))
                elif value is not None:
                    kinds[kind] = Decimal(value)
            since = date.fromisoformat(raw["since"]) if raw.get("since") else None
            entries.append(Entry(prices=kinds, since=since, index=index))
        model = CatalogueModel(source=source, provider=item["provider"], model=item["id"], entries=tuple(entries))
        for name in (item["id"], *item.get("aliases", ())):
            found[name] = model
    return found


def warm() -> None:
    """Load the catalogue and the supplement now (a tenth of a second), not in a request."""
    _catalogue()
    _supplement()


@lru_cache(maxsize=8192)
def catalogue_model(model: str, provider_type: str) -> CatalogueModel | None:
    """The catalogue's (else the supplement's) prices for a model name as reported, under a
    hub provider type; None when neither knows it. Cached: resolving walks hundreds of rules."""
    name = model.strip().lower()
    if not name:
        return None
    own, vendor = gateway_forms(name)
    by_type = CATALOGUE_PROVIDERS.get(provider_type)
    attempts = [(name, by_type), (own, vendor or by_type), (own, None)]
    for candidate, provider_id in dict.fromkeys(attempts):
        if provider_id == "qwen":
            continue  # the catalogue has no Alibaba provider: the supplement below
        found = _catalogue_find(candidate, provider_id)
        if found is not None:
            return found
    supplement = _supplement()
    return supplement.get(own) or supplement.get(_DATE_SUFFIX.sub("", own))


# --------------------------------------------------------------------------- the price book


def _ratios(provider_type: str) -> tuple[Decimal, Decimal, Decimal]:
    if provider_type == "openai-compatible":
        provider_type = "openai"
    return CACHE_RATIOS.get(provider_type, NO_DISCOUNT)


def _plain(value: Decimal) -> str:
    """3.000000 -> "3", 0.300000 -> "0.3": prices as people write them, never in exponent form."""
    return format(value.normalize(), "f")


def _at(value: Price, bucket: int, thresholds: tuple[int, ...]) -> Decimal:
    """A price per million for a prompt in ``bucket`` (how many of ``thresholds`` it exceeds)."""
    if isinstance(value, Decimal):
        return value
    base, tiers = value
    exceeded = thresholds[bucket - 1] if bucket else -1
    applicable = base
    for start, price in tiers:
        if start <= exceeded:
            applicable = price
    return applicable


def billed_model(*, model: str, original_model: str, bill_original: bool) -> str:
    """The model a request is billed as: the one that ran, unless the system settings say to bill
    the one asked for (``SystemSettings.bill_original_model``). Ingest, demo data and re-pricing
    all use this rule."""
    asked = original_model or model
    return asked if bill_original else (model or asked)


class PriceBook:
    """All prices, loaded once, looked up in memory (ingest prices thousands of rows a call)."""

    def __init__(self, prices: list[ModelPrice]) -> None:
        self._by_key: dict[tuple[str, str], list[ModelPrice]] = {}
        self._by_model: dict[str, list[tuple[str, list[ModelPrice]]]] = {}
        self._found: dict[tuple[str, str, date], ModelPrice | None] = {}
        self._entries: dict[tuple, Entry] = {}
        self._rate_cache: dict[tuple, tuple] = {}
        for price in sorted(prices, key=lambda p: p.effective_from, reverse=True):
            self._by_key.setdefault((price.model.lower(), price.provider_type), []).append(price)
        for (name, kind), rows in self._by_key.items():
            self._by_model.setdefault(name, []).append((kind, rows))

    @classmethod
    def load(cls) -> PriceBook:
        return cls(list(ModelPrice.objects.all()))

    # ---- admin prices

    def find(self, model: str, provider_type: str, on: date) -> ModelPrice | None:
        """The admin's price in force on that day for the model under any name it goes by."""
        key = (model, provider_type, on)
        if key not in self._found:
            found = None
            if self._by_key:
                for name in self._names(model, provider_type):
                    found = self._find(name, provider_type, on)
                    if found is not None:
                        break
            self._found[key] = found
        return self._found[key]

    def _names(self, model: str, provider_type: str) -> list[str]:
        name = model.strip().lower()
        names = [name, gateway_forms(name)[0]]
        known = catalogue_model(model, provider_type)
        if known is not None:
            names.append(known.model.lower())
        return list(dict.fromkeys(names))

    def _find(self, model: str, provider_type: str, on: date) -> ModelPrice | None:
        """The provider type's own price, else the any-provider one, else the model's price
        under another provider type (a model's price is its vendor's, whoever resells it)."""
        candidates = [self._by_key.get((model, provider_type), ()), self._by_key.get((model, ""), ())]
        candidates += [rows for kind, rows in self._by_model.get(model, ()) if kind not in (provider_type, "")]
        for prices in candidates:
            for price in prices:
                if price.effective_from <= on:
                    return price
        return None

    # ---- any price

    def has_price(self, model: str, provider_type: str, at: datetime) -> bool:
        return self.find(model, provider_type, _utc_day(at)) is not None or (
            catalogue_model(model, provider_type) is not None
        )

    def _entry(self, known: CatalogueModel, at: datetime) -> Entry:
        if not known.by_day:
            return known.entry_at(at)
        key = (known.key, _utc_day(at))
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = known.entry_at(at)
        return entry

    def _admin_rates(self, price: ModelPrice, provider_type: str, multiplier: Decimal) -> tuple[tuple, dict]:
        # An unsaved price (a test's, a preview's) has no pk: its identity keeps prices apart.
        key = (
            "admin",
            price.pk if price.pk is not None else id(price),
            price.effective_from,
            provider_type,
            multiplier,
        )
        if key not in self._rate_cache:
            ratio_5m, ratio_1h, ratio_read = _ratios(provider_type or price.provider_type)
            per_million = {
                "input": (price.input_price, False),
                "output": (price.output_price, False),
                "cache_creation_5m": _price_or_ratio(price.cache_creation_price, price.input_price, ratio_5m),
                "cache_creation_1h": _price_or_ratio(price.cache_creation_1h_price, price.input_price, ratio_1h),
                "cache_read": _price_or_ratio(price.cache_read_price, price.input_price, ratio_read),
            }
            since = price.effective_from.isoformat()
            info = {
                "source": "admin", "model_price_id": price.pk, "model": price.model,
                "provider_type": price.provider_type, "effective_from": since,
            }  # fmt: skip
            self._rate_cache[key] = _priced(per_million, multiplier, info, since)
        return self._rate_cache[key]

    def _catalogue_rates(
        self, known: CatalogueModel, entry: Entry, bucket: int, provider_type: str, multiplier: Decimal
    ) -> tuple[tuple, dict]:
        key = (known.key, entry.index, bucket, provider_type, multiplier)
        if key not in self._rate_cache:
            thresholds = entry.thresholds
            found = {kind: _at(value, bucket, thresholds) for kind, value in entry.prices.items()}
            input_price = found.get("input", Decimal(0))
            ratio_5m, ratio_1h, ratio_read = _ratios(provider_type)
            # A 1-hour write without a price of its own: Anthropic's 2x where that is the vendor,
            # else the catalogue's (5-minute) write price, else the ratio.
            write_1h = found.get("cache_creation_1h")
            if write_1h is None and provider_type != "claude":
                write_1h = found.get("cache_creation_5m")
            per_million = {
                "input": (input_price, False),
                "output": (found.get("output", Decimal(0)), False),
                "cache_creation_5m": _price_or_ratio(found.get("cache_creation_5m"), input_price, ratio_5m),
                "cache_creation_1h": _price_or_ratio(write_1h, input_price, ratio_1h),
                "cache_read": _price_or_ratio(found.get("cache_read"), input_price, ratio_read),
            }
            info: dict[str, Any] = {"source": known.source, "provider": known.provider, "model": known.model}
            info["entry"] = entry.index
            if entry.window:
                info["utc_window"] = f"{entry.window[0]:%H:%M}-{entry.window[1]:%H:%M}"
            if bucket:
                info["prompt_over"] = thresholds[bucket - 1]
            since = entry.since.isoformat() if entry.since else None
            self._rate_cache[key] = _priced(per_million, multiplier, info, since)
        return self._rate_cache[key]

    def cost(self, *, model: str, provider_type: str, multiplier: Decimal, tokens: Tokens, at: datetime) -> Cost:
        """What ``tokens`` of ``model`` cost at the moment ``at`` (timezone-aware)."""
        multiplier = Decimal(multiplier)
        admin = self.find(model, provider_type, _utc_day(at)) if self._by_key else None
        if admin is not None:
            rates, head = self._admin_rates(admin, provider_type, multiplier)
        else:
            known = catalogue_model(model, provider_type)
            if known is None:
                return Cost(amount=None, breakdown={"model": model, "unpriced": True})
            entry = self._entry(known, at)
            thresholds = entry.thresholds
            bucket = bisect_right(thresholds, tokens.prompt - 1) if thresholds else 0
            rates, head = self._catalogue_rates(known, entry, bucket, provider_type, multiplier)
        plain_writes = max(tokens.cache_creation - tokens.cache_creation_5m - tokens.cache_creation_1h, 0)
        counts = (
            tokens.input,
            tokens.output,
            tokens.cache_creation_5m + plain_writes,
            tokens.cache_creation_1h,
            tokens.cache_read,
        )  # fmt: skip  (in KINDS order, as the rates are)
        total = Decimal(0)
        kinds: dict = {}
        for count, (kind, per_million, rate, from_ratio) in zip(counts, rates, strict=True):
            if not count:
                continue
            amount = (count * rate).quantize(COST_PLACES)
            total += amount
            line = kinds[kind] = {"tokens": count, "price_per_million": per_million, "cost": str(amount)}
            if from_ratio:
                line["price_from_ratio"] = True
        return Cost(amount=total, breakdown={"model": model, **head, "kinds": kinds, "total": str(total)})


def _utc_day(at: datetime) -> date:
    return (at if at.tzinfo is UTC else at.astimezone(UTC)).date()


def _priced(per_million: dict[str, tuple[Decimal, bool]], multiplier: Decimal, info: dict, since: str | None):
    """(rates, the breakdown's head) for one price, worked out once per price book: the head is
    shared by the rows it prices (they are serialised, never changed)."""
    head = {"price": info, "price_effective_from": since, "multiplier": _plain(multiplier)}
    return _rates(per_million, multiplier), head


def _rates(per_million: dict[str, tuple[Decimal, bool]], multiplier: Decimal) -> tuple:
    """Per token kind: (kind, price per million as written, cost of one token, priced by ratio).
    price / 10^6 x multiplier is exact in Decimal, so count x rate equals count x price / 10^6 x
    multiplier to the last digit."""
    return tuple(
        (kind, _plain(value), value / MILLION * multiplier, from_ratio)
        for kind, (value, from_ratio) in per_million.items()
    )


def _price_or_ratio(explicit: Decimal | None, input_price: Decimal, ratio: Decimal) -> tuple[Decimal, bool]:
    if explicit is not None:
        return explicit, False
    return (input_price * ratio).normalize(), True
