"""What providers asks of the apps to its right without importing them.

``unpriced_lookup``: sent by the model prices admin with ``viewer``, ``since`` and ``until``.
A receiver answers the models it billed without a price in that window, as ``UnpricedModel``
items with their request counts, so an admin can price the largest gap first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.dispatch import Signal

unpriced_lookup = Signal()


@dataclass(frozen=True)
class UnpricedModel:
    model: str  # the name it was billed as
    provider_type: str  # "" when the requests named no known provider
    requests: int  # requests stored without a cost
    field: str = "model"  # the request column that holds the name: "model", or "original_model" when billed so


def unpriced_models(*, viewer, since: datetime, until: datetime) -> list[UnpricedModel]:
    """Every receiver's unpriced models, the most requests first."""
    found: list[UnpricedModel] = []
    for _receiver, answer in unpriced_lookup.send(sender=UnpricedModel, viewer=viewer, since=since, until=until):
        found.extend(answer or ())
    return sorted(found, key=lambda item: (-item.requests, item.model, item.provider_type))
