"""Streams cut before their final usage event (issue 14): a flag on message_request and the
partial index the log's "incomplete streams" filter reads, like mr_zero_tokens_created.

A PostgreSQL default of false makes adding the column a catalogue change, not a rewrite of
the partitions, and keeps any writer that does not name the column correct."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0011_rollup_sums_shared"),
    ]

    operations = [
        migrations.AddField(
            model_name="messagerequest",
            name="incomplete",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="A stream that ended before its final usage event: tokens as far as known.",
                verbose_name="incomplete",
            ),
        ),
        migrations.AddIndex(
            model_name="messagerequest",
            index=models.Index(
                condition=models.Q(("incomplete", True)), fields=["created_at", "id"], name="mr_incomplete_created"
            ),
        ),
    ]
