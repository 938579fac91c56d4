import time

from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models import Max, Min
from django.utils import timezone

from usage import rollups
from usage.models import MessageRequest, RollupHour
from usage.rollups import minutes
from usage.signals import rollups_processed


class Command(BaseCommand):
    help = (
        "Roll up every hour that holds requests, and the minutes of the providers' availability "
        "(after an upgrade or a restore); safe to run again."
    )

    def handle(self, *args, **options):
        bounds = MessageRequest.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
        if bounds["first"] is None:
            self.stdout.write("No requests: nothing to roll up.")
            return
        rollups.mark_range(bounds["first"], bounds["last"])
        minutes.mark_minute_range(bounds["first"], bounds["last"])
        total = RollupHour.objects.filter(dirty=True).count()
        started = time.monotonic()
        done = 0
        while processed := rollups.rollup_dirty(limit=200):
            done += processed
            self.stdout.write(f"  {done:,}/{total:,} hours ({time.monotonic() - started:.0f} s)")
        while processed := minutes.rollup_dirty_minutes(limit=50):
            self.stdout.write(f"  {processed:,} minutes ({time.monotonic() - started:.0f} s)")
        elapsed = time.monotonic() - started
        if not connection.in_atomic_block:  # (VACUUM cannot run in a transaction: tests run in one)
            with connection.cursor() as cursor:
                # Every hour rewrote the cumulative totals' rows: compact them for the scrapes that read them.
                cursor.execute("VACUUM (ANALYZE) usage_total, usage_total_route")
        rollups_processed.send(sender=self.__class__, hours=done, now=timezone.now())
        self.stdout.write(
            self.style.SUCCESS(
                f"Rolled up {done:,} hours in {elapsed:.1f} s ({done / max(elapsed, 0.001):.0f} hours/s)."
            )
        )
