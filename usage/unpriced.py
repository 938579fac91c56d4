"""Models billed without a price in a window, with their request counts, for the model prices admin.

Read from the hourly rollups (``usage.rollups.totals``: whole clean hours from the brief rollup,
raw rows only for the window's ragged edges and hours not rolled up yet, closed days from the
day cache), never by grouping 30 days of raw rows: the brief rollup has a row per hour, user,
provider and model pair, so the cost grows with hours and models, not with requests. A row
without a price is a row without a cost (every writer stores ``price_missing`` exactly when it
stores no cost), so the count is ``requests - priced``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hub.models import SystemSettings
from providers.models import Provider
from providers.pricing import billed_model
from providers.signals import UnpricedModel
from usage import rollups

UTC_ZONE = ZoneInfo("UTC")  # a ZoneInfo, so whole UTC days come from the day cache


def unpriced_models(*, viewer, since: datetime, until: datetime) -> list[UnpricedModel]:
    rows = rollups.totals(
        viewer=viewer, start=since, end=until, group_by=("provider_id", "model", "original_model"),
        fields=("requests", "priced"), zone=UTC_ZONE,
    )  # fmt: skip
    bill_original = SystemSettings.get().bill_original_model
    kinds = dict(Provider.objects.values_list("pk", "type"))
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        missing = row["requests"] - row["priced"]
        if missing <= 0:
            continue
        name = billed_model(model=row["model"], original_model=row["original_model"], bill_original=bill_original)
        key = (name, kinds.get(row["provider_id"], ""))
        counts[key] = counts.get(key, 0) + missing
    field = "original_model" if bill_original else "model"
    return [
        UnpricedModel(model=name, provider_type=kind, requests=n, field=field) for (name, kind), n in counts.items()
    ]
