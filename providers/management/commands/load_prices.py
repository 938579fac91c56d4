from django.core.management.base import BaseCommand, CommandError

from providers.services import PriceFileError, prices_load_file


class Command(BaseCommand):
    help = (
        "Create or update admin model prices from a JSON price file: negotiated or self-hosted prices that "
        "override the built-in catalogue for the models they name."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file: str, **options):
        try:
            result = prices_load_file(file)
        except PriceFileError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Prices: {result.created} created, {result.updated} updated.")
