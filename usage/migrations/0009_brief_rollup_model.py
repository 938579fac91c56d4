from django.db import migrations, models

# The brief rollup refilled from the fine one, frozen here (a migration must not follow later code).
# In hour order, as the rollups write it: pages read a window of hours, so its rows stay together.
REFILL = """
INSERT INTO usage_hourly_brief (
    hour, user_id, provider_id, original_model, model, requests, errors, streams, input_tokens, output_tokens,
    cache_creation_tokens, cache_read_tokens, reasoning_tokens, cost, priced, zero_token_successes, duration_sum,
    duration_count, ttft_sum, ttft_count
)
SELECT hour, user_id, provider_id, original_model, model, sum(requests), sum(errors), sum(streams),
    sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens), sum(reasoning_tokens),
    sum(cost), sum(priced), sum(zero_token_successes), sum(duration_sum), sum(duration_count), sum(ttft_sum),
    sum(ttft_count)
FROM usage_hourly
GROUP BY hour, user_id, provider_id, original_model, model
ORDER BY hour
"""


class Migration(migrations.Migration):
    """The brief rollup gains the model that ran. It is refilled from the fine rollup in place, in
    this migration's transaction, so no hour turns dirty (no page falls back to raw rows) on upgrade."""

    dependencies = [("usage", "0008_brief_rollup")]

    operations = [
        migrations.AddField(
            model_name="usagehourlybrief",
            name="model",
            field=models.CharField(default="", max_length=128),
            preserve_default=False,
        ),
        migrations.RunSQL(
            ["DELETE FROM usage_hourly_brief", REFILL, "ANALYZE usage_hourly_brief"], migrations.RunSQL.noop
        ),
    ]
