from celery import shared_task
from django.db import OperationalError

from hub.taskruns import recorded


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
@recorded
def dashboard_warm(now=None) -> bool:
    """Read the admins' 30-day chart once so its closed days wait in the cache (see
    ``stats.selectors.warm_dashboard``). Called in the rollup worker after each run."""
    from stats.selectors import warm_dashboard

    return warm_dashboard(now)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
@recorded
def provider_statuses_refresh() -> int:
    """Every minute (Celery beat): each provider's status from its last 15 minutes of traffic,
    stored through the providers service (which records a change once). Returns how many changed."""
    from django.utils import timezone

    from providers.models import Provider
    from providers.services import provider_status_record
    from stats.availability import recent_health

    now = timezone.now()
    recent = recent_health(now=now)
    changed = 0
    for provider_id, since in Provider.objects.values_list("pk", "status__since"):
        requests, successes = recent.get(provider_id, (0, 0))
        status = provider_status_record(provider_id=provider_id, requests=requests, successes=successes, now=now)
        changed += status.since == now and since != now
    return changed


@shared_task
@recorded
def metrics_build() -> bool:
    """Every METRICS["CACHE_SECONDS"] (Celery beat): build /metrics' text for the scrapes to
    come, if anyone scraped in the last two minutes (see ``stats.metrics``)."""
    from stats.metrics import build_if_wanted

    return build_if_wanted()
