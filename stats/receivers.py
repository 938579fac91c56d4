"""stats listens to usage: after a rollup run, the admins' 30-day chart has its closed days
ready in the cache before anyone opens the dashboard."""

from django.dispatch import receiver

from usage.signals import rollups_processed


@receiver(rollups_processed, dispatch_uid="stats-warm-dashboard")
def warm_dashboard_after_rollups(sender, *, hours: int, now=None, **kwargs) -> None:
    from stats.tasks import dashboard_warm

    dashboard_warm(now)
