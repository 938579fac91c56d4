from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hub.admin import KeepsHistoryAdmin, switch_action
from providers.models import ModelPrice, Provider


@admin.register(Provider)
class ProviderAdmin(KeepsHistoryAdmin):
    list_display = ("name", "type", "base_url", "cost_multiplier", "priority", "weight", "enabled")
    list_filter = ("type", "enabled")
    search_fields = ("name", "base_url", "description")
    list_editable = ("enabled",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ("disable_providers",)

    disable_providers = switch_action(
        "enabled", False, _("Disable selected providers"),
        lambda count: ngettext("%d provider disabled.", "%d providers disabled.", count) % count,
    )  # fmt: skip


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = (
        "model", "provider_type", "input_price", "output_price", "cache_creation_price",
        "cache_read_price", "effective_from",
    )  # fmt: skip
    list_filter = ("provider_type", "effective_from")
    search_fields = ("model", "source")
    ordering = ("model", "provider_type", "-effective_from")
