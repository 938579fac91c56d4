"""The filters of the sessions list, one definition for the page, the API and the CSV export."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from providers.models import Provider
from sessions_app.models import Session
from sessions_app.selectors import ACTIVE_SESSION_WINDOW
from usage.filters import FlagFilter, MomentFilter, OwnedFilterSet


class SessionFilterSet(OwnedFilterSet):
    provider = django_filters.ModelChoiceFilter(
        label=_("Provider"), queryset=Provider.objects.order_by("name"), empty_label=_("All providers"),
        method="filter_provider", error_messages={"invalid_choice": _("“%(value)s” is not a provider.")},
    )  # fmt: skip
    model = django_filters.CharFilter(label=_("Model"), method="filter_model", max_length=128)
    active = FlagFilter(
        label=_("Active"), method="filter_active",
        help_text=_("true: a request in the last 5 minutes; false: quiet longer than that."),
    )  # fmt: skip
    start = MomentFilter(
        label=_("From"), method="filter_start", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Sessions active at or after this time (ISO 8601; without an offset, the system time zone)."),
    )  # fmt: skip
    end = MomentFilter(
        label=_("Until"), method="filter_end", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Sessions that began before this time."),
    )  # fmt: skip

    class Meta(OwnedFilterSet.Meta):
        model = Session
        fields: list[str] = []

    def __init__(self, *args, now=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()

    def filter_provider(self, queryset, name, value):
        return queryset.filter(provider_ids__contains=[value.pk]) if value else queryset

    def filter_model(self, queryset, name, value):
        return queryset.filter(model_names__contains=[value]) if value else queryset

    def filter_active(self, queryset, name, value):
        if value is None or self.data.get(name) in (None, ""):
            return queryset
        boundary = self.now - ACTIVE_SESSION_WINDOW
        return (
            queryset.filter(last_request_at__gte=boundary) if value else queryset.filter(last_request_at__lt=boundary)
        )

    def filter_start(self, queryset, name, value):
        return queryset.filter(last_request_at__gte=value) if value else queryset

    def filter_end(self, queryset, name, value):
        return queryset.filter(first_request_at__lt=value) if value else queryset
