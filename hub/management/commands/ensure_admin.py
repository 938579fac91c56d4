from django.core.management.base import BaseCommand

from hub.services import admin_ensure


class Command(BaseCommand):
    help = "Create the first admin account if there is none; print its password once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        user, password = admin_ensure(username=username)
        if password is None:
            self.stdout.write(f"Admin account: {user.username} (exists already; password unchanged).")
            return
        # Printed to the terminal of whoever started the hub, once; never logged.
        self.stdout.write(self.style.SUCCESS("Created the first admin account. Note the password: it is shown once."))
        self.stdout.write(f"    user name: {user.username}\n    password:  {password}")
