"""Re-pricing stored requests after a price change (``manage.py reprice``).

Rows in the window are read in keyset batches of ``(created_at, id)`` (bounded memory, no
long scan held open), priced again exactly as ingest prices a new record (the price book:
admin prices over the catalogue, the model billed by today's ``bill_original_model`` rule,
the row's own stored multiplier), and only the rows whose cost, breakdown or flag changed
are updated, each batch in its own short transaction that also marks the batch's hours dirty
so the rollups, and every aggregate read from them, follow. Running it twice changes nothing
the second time.

A row stored as "not billed" (cost 0 and no breakdown: the demo data's refused requests)
stays not billed: 0 while its model has a price, empty when it has none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import orjson
from django.db import connection, transaction
from django.db.models import Q

from hub.models import SystemSettings
from providers.models import Provider
from providers.pricing import PriceBook, Tokens, billed_model, catalogue_model, gateway_forms
from usage import rollups, tasks
from usage.models import MessageRequest, UsageHourlyBrief

FIELDS = (
    "id", "created_at", "provider_id", "model", "original_model", "input_tokens", "output_tokens",
    "cache_creation_tokens", "cache_creation_5m_tokens", "cache_creation_1h_tokens", "cache_read_tokens", "cost",
    "cost_breakdown", "price_missing", "cost_multiplier",
)  # fmt: skip
_UPDATE_SQL = """
UPDATE message_request AS m SET cost = v.cost, cost_breakdown = v.breakdown::jsonb, price_missing = v.missing
FROM unnest(%s::bigint[], %s::timestamptz[], %s::numeric[], %s::text[], %s::boolean[])
    AS v(id, created_at, cost, breakdown, missing)
WHERE m.id = v.id AND m.created_at = v.created_at AND m.created_at >= %s AND m.created_at <= %s
"""


@dataclass
class RepriceResult:
    scanned: int = 0
    changed: int = 0
    newly_priced: int = 0  # had no cost, have one now
    now_unpriced: int = 0  # had a cost, have none now (a price was removed)
    hours: int = 0  # hours marked for the rollups

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def names_in_window(since: datetime, until: datetime) -> set[str]:
    """Every model and original model name stored in [since, until): from the brief rollup for
    clean hours, raw rows only for the ragged edges and hours not rolled up."""
    rollup_ranges, raw_ranges = rollups.plan(since, until)
    names: set[str] = set()
    for ranges, rows, field in ((rollup_ranges, UsageHourlyBrief.objects, "hour"),
                                (raw_ranges, MessageRequest.objects, "created_at")):  # fmt: skip
        window = Q()
        for low, high in ranges:
            window |= Q(**{f"{field}__gte": low, f"{field}__lt": high})
        if ranges:
            for model, original in rows.filter(window).order_by().values_list("model", "original_model").distinct():
                names.update((model, original))
    names.discard("")
    return names


def matching_names(wanted: str, names: set[str]) -> set[str]:
    """The names that are ``wanted`` under any form: itself, without gateway prefixes, or as the
    catalogue model it resolves to (``gpt-4o`` matches ``gpt-4o-2024-08-06``, ``openai/gpt-4o``)."""
    target = wanted.strip().lower()
    found = set()
    for name in names:
        known = catalogue_model(name, "")
        if target in (name.lower(), gateway_forms(name)[0], known.model.lower() if known else None):
            found.add(name)
    return found


def requests_reprice(
    *, since: datetime, until: datetime, model: str | None = None, dry_run: bool = False, batch_size: int = 5_000,
    progress: Callable[[RepriceResult], None] | None = None,
) -> RepriceResult:  # fmt: skip
    """Price again the rows stored in [since, until), only those billed as ``model`` (under any
    of its names) if given. ``dry_run`` counts what would change and writes nothing."""
    result = RepriceResult()
    rows = MessageRequest.objects.filter(created_at__gte=since, created_at__lt=until)
    bill_original = SystemSettings.get().bill_original_model
    if model:
        names = matching_names(model, names_in_window(since, until))
        if not names:
            return result
        # Only the column the rows are billed by: the model one has an index (model, created_at).
        rows = rows.filter(**{"original_model__in" if bill_original else "model__in": names})
    book = PriceBook.load()
    kinds = dict(Provider.objects.values_list("pk", "type"))
    after: tuple[datetime, int] | None = None
    marked: set[datetime] = set()
    while True:
        batch = rows.order_by("created_at", "id")
        if after is not None:
            # (created_at, id) > after, written so that created_at >= after's bounds the index scan.
            batch = batch.filter(Q(created_at__gte=after[0]) & (Q(created_at__gt=after[0]) | Q(id__gt=after[1])))
        found = [dict(zip(FIELDS, values, strict=True)) for values in batch.values_list(*FIELDS)[:batch_size]]
        if not found:
            break
        after = (found[-1]["created_at"], found[-1]["id"])
        result.scanned += len(found)
        changes = [change for row in found if (change := _repriced(row, book, kinds, bill_original)) is not None]
        for row, cost, _breakdown in changes:
            result.newly_priced += row["cost"] is None and cost is not None
            result.now_unpriced += row["cost"] is not None and cost is None
        result.changed += len(changes)
        if changes and not dry_run:
            hours = _write(changes)
            marked |= hours
        if progress:
            progress(result)
    result.hours = len(marked)
    if marked and not dry_run:
        tasks.rollups_process.delay()  # a worker recomputes the marked hours (idempotent)
    return result


def _repriced(row: dict, book: PriceBook, kinds: dict[int, str], bill_original: bool) -> tuple | None:
    """(row, new cost, new breakdown) when pricing the row today gives another answer, else None."""
    name = billed_model(model=row["model"], original_model=row["original_model"], bill_original=bill_original)
    provider_type = kinds.get(row["provider_id"], "")
    if row["cost"] == 0 and row["cost_breakdown"] is None:  # stored as not billed
        cost = Decimal(0) if book.has_price(name, provider_type, row["created_at"]) else None
        breakdown = None
    else:
        priced = book.cost(
            model=name, provider_type=provider_type, multiplier=row["cost_multiplier"], at=row["created_at"],
            tokens=Tokens(
                input=row["input_tokens"], output=row["output_tokens"], cache_creation=row["cache_creation_tokens"],
                cache_creation_5m=row["cache_creation_5m_tokens"], cache_creation_1h=row["cache_creation_1h_tokens"],
                cache_read=row["cache_read_tokens"],
            ),
        )  # fmt: skip
        cost, breakdown = priced.amount, priced.breakdown
    same = row["cost"] == cost and row["price_missing"] == (cost is None)
    # Compared as stored: the new breakdown after the same JSON round trip the database gives it.
    if same and row["cost_breakdown"] == (orjson.loads(orjson.dumps(breakdown)) if breakdown is not None else None):
        return None
    return row, cost, breakdown


def _write(changes: list[tuple]) -> set[datetime]:
    """Update the changed rows and mark their hours, in one short transaction."""
    ids, moments, costs, breakdowns, missing = [], [], [], [], []
    for row, cost, breakdown in changes:
        ids.append(row["id"])
        moments.append(row["created_at"])
        costs.append(cost)
        breakdowns.append(orjson.dumps(breakdown).decode() if breakdown is not None else None)
        missing.append(cost is None)
    hours = {rollups.floor_hour(moment) for moment in moments}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_UPDATE_SQL, [ids, moments, costs, breakdowns, missing, min(moments), max(moments)])
        rollups.mark_hours(hours)
    return hours
