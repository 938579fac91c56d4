from django.core.management.base import BaseCommand, CommandError

from providers.services import SHIPPED_PRICES, PriceFileError, prices_load_file


class Command(BaseCommand):
    help = "Create or update model prices from a JSON price file (default: the prices shipped with the hub)."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(SHIPPED_PRICES))

    def handle(self, *args, file: str, **options):
        try:
            result = prices_load_file(file)
        except PriceFileError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Prices: {result.created} created, {result.updated} updated.")
