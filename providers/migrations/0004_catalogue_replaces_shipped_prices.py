"""The hand-kept price file is no longer the built-in catalogue (genai-prices is, see
providers/pricing.py): remove the rows 0002 loaded from it, where an admin left them as loaded.

A row an admin changed (any price or its source) or added stays: from now on admin rows are
overrides of the catalogue, so a left-over copy of a list price would hide the catalogue's
newer prices, dated snapshots and tiers for that model.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

TAKEN = date(2025, 11, 1)
SOURCE = "Public list prices (USD per million tokens) from the pricing pages of Anthropic, OpenAI, Google AI (Gemini API), Alibaba Cloud Model Studio (international) and DeepSeek, as read on the date above. Tiered prices use the lowest tier (Gemini <= 200k prompt tokens, Qwen <= 32k). Update with: python manage.py load_prices FILE"
# (model, provider type, input, output, cache write, 1-hour cache write, cache read) as 0002 loaded them
LOADED = [
    ("claude-opus-4-5", "claude", "5", "25", "6.25", "10", "0.5"),
    ("claude-opus-4-1", "claude", "15", "75", "18.75", "30", "1.5"),
    ("claude-sonnet-4-5", "claude", "3", "15", "3.75", "6", "0.3"),
    ("claude-sonnet-4", "claude", "3", "15", "3.75", "6", "0.3"),
    ("claude-haiku-4-5", "claude", "1", "5", "1.25", "2", "0.1"),
    ("claude-3-5-haiku", "claude", "0.8", "4", "1", "1.6", "0.08"),
    ("gpt-5", "", "1.25", "10", None, None, "0.125"),
    ("gpt-5-mini", "", "0.25", "2", None, None, "0.025"),
    ("gpt-5-nano", "", "0.05", "0.4", None, None, "0.005"),
    ("gpt-4.1", "", "2", "8", None, None, "0.5"),
    ("gpt-4.1-mini", "", "0.4", "1.6", None, None, "0.1"),
    ("gpt-4o", "", "2.5", "10", None, None, "1.25"),
    ("gpt-4o-mini", "", "0.15", "0.6", None, None, "0.075"),
    ("o3", "", "2", "8", None, None, "0.5"),
    ("o4-mini", "", "1.1", "4.4", None, None, "0.275"),
    ("gemini-2.5-pro", "gemini", "1.25", "10", None, None, "0.31"),
    ("gemini-2.5-flash", "gemini", "0.3", "2.5", None, None, "0.075"),
    ("gemini-2.5-flash-lite", "gemini", "0.1", "0.4", None, None, "0.025"),
    ("qwen3-max", "", "1.2", "6", None, None, None),
    ("qwen-plus", "", "0.4", "1.2", None, None, None),
    ("qwen-turbo", "", "0.05", "0.2", None, None, None),
    ("qwen3-coder-plus", "", "1", "5", None, None, None),
    ("deepseek-chat", "", "0.28", "0.42", None, None, "0.028"),
    ("deepseek-reasoner", "", "0.28", "0.42", None, None, "0.028"),
]


def _price(value):
    return None if value is None else Decimal(value)


def forget(apps, schema_editor):
    ModelPrice = apps.get_model("providers", "ModelPrice")
    for model, provider_type, input_price, output_price, write, write_1h, read in LOADED:
        ModelPrice.objects.filter(
            model=model, provider_type=provider_type, effective_from=TAKEN, source=SOURCE[:255],
            input_price=Decimal(input_price), output_price=Decimal(output_price),
            cache_creation_price=_price(write), cache_creation_1h_price=_price(write_1h),
            cache_read_price=_price(read),
        ).delete()  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("providers", "0003_provider_status")]

    operations = [migrations.RunPython(forget, migrations.RunPython.noop)]
