from django.db import migrations, models

# The logs' "no price" filter (issue 14): the few rows whose model had no price, found through
# a partial index instead of walking the window, like "errors only" and "zero tokens".


class Migration(migrations.Migration):
    dependencies = [("usage", "0014_cumulative_totals")]

    operations = [
        migrations.AddIndex(
            model_name="messagerequest",
            index=models.Index(
                condition=models.Q(("price_missing", True)), fields=["created_at", "id"], name="mr_no_price_created"
            ),
        ),
    ]
