import shutil

import pytest
from django.core.management import CommandError, call_command

from tests.usage.ingest.sample_files import sample_path
from usage.models import MessageRequest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("long_retention")]
SAMPLE = "openclaw/3f9a1c2e-7b4d-4e8f-9a0b-1c2d3e4f5a6b.jsonl"


def test_import_reads_a_folder_skips_backups_and_adds_nothing_the_second_time(tmp_path, alice, capsys):
    shutil.copy(sample_path(SAMPLE), tmp_path / "3f9a1c2e-7b4d-4e8f-9a0b-1c2d3e4f5a6b.jsonl")
    shutil.copy(sample_path(SAMPLE), tmp_path / "3f9a1c2e.jsonl.bak.20260101")
    call_command("import_openclaw", str(tmp_path), user="alice")
    stored = MessageRequest.objects.filter(user=alice).count()
    assert stored > 0
    assert "1 files skipped" in capsys.readouterr().out
    call_command("import_openclaw", str(tmp_path), user="alice")
    assert MessageRequest.objects.count() == stored
    assert MessageRequest.objects.filter(status_code__gte=400).exclude(error_message="").exists()


def test_import_refuses_an_unknown_user_or_path(tmp_path, db):
    with pytest.raises(CommandError, match="No active user"):
        call_command("import_openclaw", str(tmp_path), user="ghost")
