from celery import shared_task
from django.db import OperationalError

from hub.taskruns import recorded

#: cache key set for ROLLUP_QUEUE_SECONDS when a write queued a rollup run (``usage.services``)
ROLLUP_QUEUED = "usage:rollup-queued"


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
@recorded
def partitions_ensure_ahead() -> list[str]:
    """Keep the next months' partitions of message_request ready before rows arrive."""
    from usage.partitions import ensure_ahead

    return ensure_ahead(months_ahead=3)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
@recorded
def retention_apply() -> dict:
    """Purge the request logs older than the retention period (whole months dropped, the rest
    of the boundary month deleted an hour at a time)."""
    from usage.retention import retention_apply as apply

    purge = apply()
    return {"cutoff": purge.cutoff.isoformat(), "dropped": purge.dropped, "deleted": purge.deleted}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
@recorded
def rollups_process(limit: int = 500) -> int:
    """Roll up the hours and minutes marked dirty by writers (also swept by beat every minute)
    and the recent hours nobody wrote to, drop minutes past the longest availability window,
    then tell whoever listens (the dashboard warms its days)."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from usage.rollups.compute import UNKNOWN_HOURS_WINDOW, rollup_dirty, rollup_unknown
    from usage.rollups.minutes import drop_old_minutes, rollup_dirty_minutes
    from usage.rollups.shape import floor_hour
    from usage.signals import rollups_processed

    now = timezone.now()
    processed = rollup_dirty(limit=limit, rest=timedelta(seconds=settings.ROLLUP_HOUR_REST_SECONDS))
    processed += rollup_unknown(now - UNKNOWN_HOURS_WINDOW, floor_hour(now), limit=limit)
    rollup_dirty_minutes(limit=limit)
    drop_old_minutes(now)
    if processed:
        rollups_processed.send(sender=rollups_process, hours=processed, now=now)
    return processed
