"""Log retention: drop the months of ``message_request`` that have wholly expired.

A month's partition goes once its last moment is older than ``log_retention_days``, so
rows are kept at least that long and at most a month longer; dropping a partition
costs no DELETE, no dead tuples and no VACUUM, however many rows it held.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from hub.models import SystemSettings
from usage import partitions, rollups
from usage.models import MessageRequest
from usage.periods import utc_month_bounds
from usage.signals import requests_purged

logger = logging.getLogger(__name__)


def expired_months(*, now: datetime | None = None) -> dict:
    """The partitions (month -> name) whose whole range is older than the retention period."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=SystemSettings.get().log_retention_days)
    return {
        month: name for month, name in partitions.existing_partitions().items() if utc_month_bounds(month)[1] <= cutoff
    }


def retention_apply(*, now: datetime | None = None) -> list[str]:
    """Drop the expired months; return the names of the partitions dropped."""
    dropped = []
    for month, name in sorted(expired_months(now=now).items()):
        with transaction.atomic(), connection.cursor() as cursor:
            # Deferred foreign-key checks of rows written earlier in this transaction would
            # block the DROP ("pending trigger events"): run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # Detach first: a plain DROP of a partition would lock the parent for longer.
            cursor.execute(f'ALTER TABLE "{partitions.TABLE}" DETACH PARTITION "{name}"')
            cursor.execute(f'DROP TABLE "{name}"')
            start, end = utc_month_bounds(month)
            rollups.forget_months(start, end)
            requests_purged.send(sender=MessageRequest, before=end)
        dropped.append(name)
        logger.info("retention: dropped %s (requests of %s)", name, month.strftime("%Y-%m"))
    if dropped:
        partitions.forget_known()
    return dropped
