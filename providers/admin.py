from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hub.admin import KeepsHistoryAdmin, switch_action
from providers.models import ModelPrice, Provider, ProviderState, ProviderStatusEvent, ProviderType
from providers.pricing import PriceBook
from providers.signals import unpriced_models

UNPRICED_WINDOW = timedelta(days=30)


@admin.register(Provider)
class ProviderAdmin(KeepsHistoryAdmin):
    list_display = ("name", "type", "base_url", "cost_multiplier", "priority", "weight", "enabled", "health")
    list_select_related = ("status",)
    list_filter = ("type", "enabled")
    search_fields = ("name", "base_url", "description")
    list_editable = ("enabled",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ("disable_providers",)

    @admin.display(description=_("status"))
    def health(self, provider: Provider) -> str:
        """The status snapshot (refreshed every minute from the provider's last 15 minutes of traffic)."""
        try:
            status = provider.status
        except ObjectDoesNotExist:
            return _("not computed yet")
        return format_html(
            '<span class="provider-state {}" title="{}">{}</span> {}',
            status.state,
            _("last computed %(moment)s") % {"moment": formats.localize(timezone.localtime(status.computed_at))},
            status.get_state_display(),
            _("since %(moment)s")
            % {"moment": formats.date_format(timezone.localtime(status.since), "SHORT_DATETIME_FORMAT")}
            if status.state != ProviderState.UNKNOWN or status.since != status.computed_at
            else "",
        )

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
    change_list_template = "admin/providers/modelprice/change_list.html"

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "unpriced": self.unpriced(request)})

    def unpriced(self, request) -> list[dict]:
        """The models billed without a price in the last 30 days, the most requests first, each
        with what to do: add a price, or re-price when one exists now."""
        now = timezone.now()
        since = now - UNPRICED_WINDOW
        book = PriceBook.load()
        add_url = reverse("admin:providers_modelprice_add")
        labels = dict(ProviderType.choices)
        listed = []
        for item in unpriced_models(viewer=request.user, since=since, until=now):
            logs = {"no_price": "true", item.field: item.model, "range": "last_30_days"}
            listed.append({
                "model": item.model,
                "provider_type": labels.get(item.provider_type, item.provider_type),
                "requests": item.requests,
                "priced_now": book.has_price(item.model, item.provider_type, now),
                "add_url": f"{add_url}?{urlencode({'model': item.model, 'provider_type': item.provider_type})}",
                "logs_url": f"/logs/?{urlencode(logs)}",
                "reprice": f"manage.py reprice --since {since:%Y-%m-%d} --model {item.model}",
            })  # fmt: skip
        return listed


@admin.register(ProviderStatusEvent)
class ProviderStatusEventAdmin(admin.ModelAdmin):
    """Status changes, newest first: recorded by the status task, never edited by hand."""

    list_display = ("at", "provider", "previous", "state", "availability", "requests")
    list_filter = ("state", "provider")
    list_select_related = ("provider",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
