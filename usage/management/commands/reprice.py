from datetime import UTC, date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError

from usage import rollups
from usage.repricing import requests_reprice


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = (
        "Price stored requests again after a price change (an admin price added or changed, a catalogue "
        "upgrade), in batches, then recompute the rollups of the hours that changed so every total follows. "
        "Running it twice changes nothing the second time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="first UTC day to re-price (YYYY-MM-DD)")
        parser.add_argument("--until", help="UTC day to stop before (YYYY-MM-DD; default: up to now)")
        parser.add_argument("--model", help="only requests billed as this model, under any of its names")
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")
        parser.add_argument("--batch", type=int, default=5_000, help="rows per batch and transaction (default 5000)")
        parser.add_argument(
            "--no-rollup", action="store_true", help="leave the marked hours to the worker instead of rolling up here"
        )

    def handle(self, *args, since: str, until: str | None, model: str | None, dry_run: bool, batch: int,
               no_rollup: bool, **options):  # fmt: skip
        start = datetime.combine(_day(since), time.min, UTC)
        end = datetime.combine(_day(until), time.min, UTC) if until else datetime.now(UTC) + timedelta(days=1)
        if start >= end:
            raise CommandError("--until must be after --since.")
        if batch < 1:
            raise CommandError("--batch must be 1 or more.")
        result = requests_reprice(since=start, until=end, model=model, dry_run=dry_run, batch_size=batch)
        verb = "would change" if dry_run else "changed"
        self.stdout.write(
            f"Re-priced {result.scanned:,} requests: {verb} {result.changed:,} ({result.newly_priced:,} newly "
            f"priced, {result.now_unpriced:,} without a price now) in {result.hours:,} hours."
        )
        if result.hours and not dry_run and not no_rollup:
            done = 0
            while processed := rollups.rollup_dirty(limit=200):
                done += processed
            self.stdout.write(f"Rolled up {done:,} hours.")
