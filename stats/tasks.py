from celery import shared_task
from django.db import OperationalError


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def dashboard_warm(now=None) -> bool:
    """Read the admins' 30-day chart once so its closed days wait in the cache (see
    ``stats.selectors.warm_dashboard``). Called in the rollup worker after each run."""
    from stats.selectors import warm_dashboard

    return warm_dashboard(now)
