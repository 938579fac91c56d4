from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from hub.models import User
from usage.ingest.openclaw import parse_openclaw_lines, should_skip_file
from usage.services import records_ingest


class Command(BaseCommand):
    help = (
        "Import OpenClaw agent session files (JSONL) for a user. PATH may be a file or a folder "
        "(searched for *.jsonl). Broken, reset, deleted and backup files are skipped; importing a "
        "file again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--user", required=True, help="the hub user the sessions belong to")

    def handle(self, *args, paths: list[str], user: str, **options):
        owner = User.objects.filter(username=user, is_active=True).first()
        if owner is None:
            raise CommandError(f"No active user named {user!r}.")
        files: list[Path] = []
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                files.extend(sorted(path.rglob("*.jsonl*")))
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"{raw}: no such file or folder.")
        totals = {"stored": 0, "duplicates": 0, "rejected": 0, "skipped": 0}
        for path in files:
            if should_skip_file(path.name):
                totals["skipped"] += 1
                self.stdout.write(f"  skipped {path} (broken, reset, deleted or backup)")
                continue
            with path.open("rb") as handle:
                result = records_ingest(owner=owner, records=parse_openclaw_lines(handle, source_name=path.name))
            summary = result.as_dict()
            for name in ("stored", "duplicates", "rejected"):
                totals[name] += summary[name]
            self.stdout.write(f"  {path}: {summary['stored']} stored, {summary['duplicates']} already there, "
                              f"{summary['rejected']} rejected")  # fmt: skip
            for error in summary["errors"][:10]:
                self.stdout.write(f"    line {error['index']}: {error['field']}: {error['reason']}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(files)} files: {totals['stored']} requests stored, {totals['duplicates']} already there, "
                f"{totals['rejected']} rejected, {totals['skipped']} files skipped."
            )
        )
