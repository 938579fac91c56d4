from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hub.signals import has_history
from providers.models import ModelPrice, Provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "base_url", "cost_multiplier", "priority", "weight", "enabled")
    list_filter = ("type", "enabled")
    search_fields = ("name", "base_url", "description")
    list_editable = ("enabled",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ("disable_providers",)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and has_history(obj):
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description=_("Disable selected providers"))
    def disable_providers(self, request, queryset):
        count = queryset.update(enabled=False)
        self.message_user(request, ngettext("%d provider disabled.", "%d providers disabled.", count) % count)


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = (
        "model", "provider_type", "input_price", "output_price", "cache_creation_price",
        "cache_read_price", "effective_from",
    )  # fmt: skip
    list_filter = ("provider_type", "effective_from")
    search_fields = ("model", "source")
    ordering = ("model", "provider_type", "-effective_from")
