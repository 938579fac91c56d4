from django.db import migrations


def create_partitions(apps, schema_editor):
    from usage import partitions

    partitions.forget_known()
    partitions.ensure_ahead(months_ahead=3, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("usage", "0002_indexes")]

    operations = [migrations.RunPython(create_partitions, migrations.RunPython.noop)]
