from django.db import migrations


def load(apps, schema_editor):
    from providers.services import SHIPPED_PRICES, prices_load_file

    prices_load_file(SHIPPED_PRICES, model=apps.get_model("providers", "ModelPrice"))


class Migration(migrations.Migration):
    dependencies = [("providers", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
