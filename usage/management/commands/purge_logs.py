from django.core.management.base import BaseCommand

from usage.retention import retention_apply


class Command(BaseCommand):
    help = (
        "Purge request logs older than System settings' retention period, as the daily beat task does: "
        "whole months dropped, the boundary month's older rows deleted an hour at a time, rollups kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="say what would be purged; change nothing")

    def handle(self, *args, dry_run: bool = False, **options):
        purge = retention_apply(dry_run=dry_run)
        verb = "Would purge" if dry_run else "Purged"
        if purge.skipped:
            self.stdout.write("Another purge is running; nothing done.")
            return
        self.stdout.write(f"Cutoff: {purge.cutoff.isoformat()} (requests created before it go).")
        for name in purge.dropped:
            self.stdout.write(f"  {'would drop' if dry_run else 'dropped'} partition {name}")
        done = "would delete" if dry_run else "deleted"
        self.stdout.write(f"  {done} {purge.deleted:,} requests of the boundary month")
        for name in purge.vacuumed:
            self.stdout.write(f"  vacuumed {name}")
        for name in purge.compacted:
            self.stdout.write(f"  rewrote {name} (more than half of it was free)")
        self.stdout.write(self.style.SUCCESS(f"{verb}: {len(purge.dropped)} partitions, {purge.deleted:,} rows."))
