import time

from django.core.management.base import BaseCommand, CommandError

from usage import demo
from usage.models import MessageRequest


class Command(BaseCommand):
    help = (
        "Load realistic, deterministic demo data: users, keys, providers, prices and request rows "
        "over the last days. The same seed gives the same rows; running it again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=20_000, help="request rows to write (default 20000)")
        parser.add_argument("--days", type=int, default=30, help="spread over this many days up to now (default 30)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when requests exist already")

    def handle(self, *args, rows: int, days: int, seed: int, if_empty: bool, **options):
        if rows < 0:
            raise CommandError("--rows must be 0 or more.")
        if not 1 <= days <= 3650:
            raise CommandError("--days must be between 1 and 3650.")
        if if_empty and MessageRequest.objects.exists():
            self.stdout.write("Requests exist already: no demo data loaded.")
            return
        started = time.monotonic()

        def progress(stored: int) -> None:
            self.stdout.write(f"  {stored:,} rows stored ({time.monotonic() - started:.1f} s)")

        stored = demo.load(rows=rows, days=days, seed=seed, progress=progress if rows >= 200_000 else None)
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: {stored:,} new request rows ({rows - stored:,} already there) in {elapsed:.1f} s."
            )
        )
