from django.db import migrations

# This migration loaded the hand-kept price file that shipped with the hub. The maintained
# catalogue (genai-prices) replaced that file, and 0004 removes the rows it loaded where they
# are unchanged, so a new database starts with no admin prices: nothing to load here.


class Migration(migrations.Migration):
    dependencies = [("providers", "0001_initial")]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
