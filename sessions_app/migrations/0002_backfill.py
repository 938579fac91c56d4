from django.db import migrations


def backfill(apps, schema_editor):
    # Sessions of the requests stored before the sessions table existed: one set-based pass.
    from sessions_app.services import sessions_rebuild_all

    sessions_rebuild_all()


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0001_sessions"), ("usage", "0011_rollup_sums_shared")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
