"""Writes to providers and prices, and the providers' status snapshot.

Admin prices (``ModelPrice``) override the built-in catalogue (``providers.pricing``) for the
models and provider types they name: negotiated prices, self-hosted models. A price file in
the format below loads many at once (``manage.py load_prices FILE``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from providers.models import ModelPrice, ProviderState, ProviderStatus, ProviderStatusEvent, ProviderType

PRICE_FIELDS = {
    "input": "input_price",
    "output": "output_price",
    "cache_creation": "cache_creation_price",
    "cache_creation_1h": "cache_creation_1h_price",
    "cache_read": "cache_read_price",
}


class PriceFileError(ValueError):
    pass


@dataclass(frozen=True)
class PricesLoaded:
    created: int
    updated: int


def _decimal(entry: dict, key: str, where: str) -> Decimal | None:
    raw = entry.get(key)
    if raw is None:
        if key in ("input", "output"):
            raise PriceFileError(f"{where}: '{key}' is required")
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise PriceFileError(f"{where}: '{key}' is not a number: {raw!r}") from None
    if value < 0 or not value.is_finite():
        raise PriceFileError(f"{where}: '{key}' must be a non-negative number")
    return value


def prices_parse(data: dict) -> list[dict]:
    """Validated field values for each entry of a price file; raises PriceFileError naming the entry."""
    if not isinstance(data, dict) or not isinstance(data.get("prices"), list):
        raise PriceFileError("the file must be a JSON object with a 'prices' list")
    try:
        default_day = date.fromisoformat(str(data.get("taken") or date.today().isoformat()))
    except ValueError:
        raise PriceFileError(f"'taken' is not a date (YYYY-MM-DD): {data.get('taken')!r}") from None
    source = str(data.get("source", ""))[:255]
    valid_types = {choice.value for choice in ProviderType} | {""}
    rows = []
    for index, entry in enumerate(data["prices"]):
        where = f"prices[{index}]"
        if not isinstance(entry, dict) or not str(entry.get("model", "")).strip():
            raise PriceFileError(f"{where}: 'model' is required")
        provider_type = str(entry.get("provider_type", ""))
        if provider_type not in valid_types:
            raise PriceFileError(f"{where}: unknown provider_type {provider_type!r}")
        try:
            day = date.fromisoformat(str(entry.get("effective_from") or default_day.isoformat()))
        except ValueError:
            raise PriceFileError(f"{where}: 'effective_from' is not a date (YYYY-MM-DD)") from None
        row = {"model": entry["model"].strip(), "provider_type": provider_type, "effective_from": day}
        row.update({field: _decimal(entry, key, where) for key, field in PRICE_FIELDS.items()})
        row["source"] = str(entry.get("source", source))[:255]
        rows.append(row)
    return rows


def prices_load(*, data: dict, model=ModelPrice) -> PricesLoaded:
    """Create or update prices from a price file's content (idempotent). ``model`` lets a
    data migration pass its historical model."""
    rows = prices_parse(data)
    created = updated = 0
    with transaction.atomic():
        for row in rows:
            key = {name: row.pop(name) for name in ("model", "provider_type", "effective_from")}
            _obj, was_created = model.objects.update_or_create(**key, defaults=row)
            created += was_created
            updated += not was_created
    return PricesLoaded(created=created, updated=updated)


def prices_load_file(path: Path, *, model=ModelPrice) -> PricesLoaded:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PriceFileError(f"cannot read {path}: {exc}") from None
    return prices_load(data=data, model=model)


#: a provider is up while at least this share of its recent requests succeeded
UP_THRESHOLD = 0.5


def provider_state(*, requests: int, successes: int) -> str:
    """Up at 50 % availability or more, down below, unknown without requests."""
    if not requests:
        return ProviderState.UNKNOWN
    return ProviderState.UP if successes / requests >= UP_THRESHOLD else ProviderState.DOWN


@transaction.atomic
def provider_status_record(*, provider_id: int, requests: int, successes: int, now: datetime) -> ProviderStatus:
    """Store a provider's status as computed from its recent traffic. A change of state is
    recorded once as an event (the row is locked, so two runs at once cannot both record it)."""
    state = provider_state(requests=requests, successes=successes)
    availability = successes / requests if requests else None
    status = ProviderStatus.objects.select_for_update().filter(provider_id=provider_id).first()
    if status is None:
        status = ProviderStatus(provider_id=provider_id, state=ProviderState.UNKNOWN, since=now, computed_at=now)
    if status.state != state:
        ProviderStatusEvent.objects.create(
            provider_id=provider_id, at=now, previous=status.state, state=state, availability=availability,
            requests=requests,
        )  # fmt: skip
        status.state = state
        status.since = now
    status.computed_at = now
    status.availability = availability
    status.requests = requests
    status.full_clean(validate_unique=False)
    status.save()
    return status


def provider_status_events(*, limit: int = 50):
    """The latest changes of the providers' statuses, newest first."""
    return ProviderStatusEvent.objects.select_related("provider").order_by("-at", "-id")[:limit]
