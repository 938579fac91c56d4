from celery import shared_task
from django.db import OperationalError


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def partitions_ensure_ahead() -> list[str]:
    """Keep the next months' partitions of message_request ready before rows arrive."""
    from usage.partitions import ensure_ahead

    return ensure_ahead(months_ahead=3)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def retention_apply() -> list[str]:
    """Drop the months of request logs older than the retention period."""
    from usage.retention import retention_apply as apply

    return apply()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rollups_process(limit: int = 500) -> int:
    """Roll up the hours marked dirty by writers (also swept by beat every minute)."""
    from usage.rollups import rollup_dirty

    return rollup_dirty(limit=limit)
