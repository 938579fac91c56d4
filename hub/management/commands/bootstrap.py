from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Make a hub ready to serve, in one process: migrate, collect static files, create the first "
        "admin if none, load demo data if there are no requests yet. Safe to run at every start."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-demo", action="store_true", help="never load demo data")

    def handle(self, *args, no_demo: bool, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("ensure_admin")
        if not no_demo:
            call_command("demo_data", if_empty=True)
