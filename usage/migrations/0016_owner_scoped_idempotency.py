"""Requests are unique per owner: (user_id, request_id, created_at), no longer (request_id, created_at).

Every existing row is unique on the pair, so it is unique on the triple too: no row changes, and
no row is merged or dropped. The new constraint is built before the old one is dropped, so the
table is never without one. On a large table this builds one unique index per monthly partition
(18 s for 10.2M rows on the reference machine) under the migration's lock: ingest waits meanwhile.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0004_metrics_scope_task_runs"),
        ("providers", "0004_catalogue_replaces_shipped_prices"),
        ("usage", "0015_no_price_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="messagerequest",
            constraint=models.UniqueConstraint(
                fields=("user", "request_id", "created_at"), name="mr_owner_request_unique"
            ),
        ),
        migrations.RemoveConstraint(model_name="messagerequest", name="mr_request_id_unique"),
    ]
