"""The one definition of every request-log filter, shared by the page, the API and the exports.

A viewer can only name what they may see: a user's URL naming another user's key or user
is an invalid value (a form error on the page, 400 naming the parameter in the API),
never a silently widened or silently dropped filter.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field

from hub.forms import CHOICES_LIMIT, ChoiceByNameField
from hub.models import ApiKey, User
from hub.params import MomentField
from hub.visibility import REFUSED_KEY, REFUSED_USER, sees_everything
from providers.models import Provider
from usage.definitions import ERROR, INCOMPLETE, ZERO_TOKENS, in_status_class
from usage.models import MessageRequest
from usage.periods import RANGES, range_bounds

DEFAULT_WINDOW = timedelta(days=7)
STATUS_PATTERN = re.compile(r"^(?:[1-5]xx|[1-5]\d\d|none)$")


class MomentFilter(django_filters.Filter):
    """A time in the one grammar of moments (``hub.params``): ISO 8601 or a date, without an
    offset in the system time zone; anything else, or out of the calendar, a form error."""

    field_class = MomentField


class FlagInput(forms.CheckboxInput):
    """A checkbox on the page; in a URL true/false (or 1/0, on/off), any other word is kept
    for the field to refuse rather than read as "on"."""

    WORDS = {"true": True, "1": True, "on": True, "yes": True, "false": False, "0": False, "off": False, "no": False}

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if value is None or value == "":
            return False
        return self.WORDS.get(str(value).lower(), value)


class FlagField(forms.BooleanField):
    widget = FlagInput

    def to_python(self, value):
        if isinstance(value, str):
            raise forms.ValidationError(_("Use true or false."))
        return bool(value)


class FlagFilter(django_filters.BooleanFilter):
    field_class = FlagField


def visible_keys(request) -> QuerySet[ApiKey]:
    viewer = getattr(request, "user", None)
    return ApiKey.objects.visible_to(viewer).select_related("owner").order_by("owner__username", "name")


def owner_choices(request) -> dict:
    """What the user and key filters offer the viewer: up to CHOICES_LIMIT users to suggest,
    and the keys to list, or None when there are too many to list."""
    keys = list(visible_keys(request)[: CHOICES_LIMIT + 1])
    users = visible_users(request).order_by("username").only("username", "display_name")
    return {"key_choices": keys if len(keys) <= CHOICES_LIMIT else None, "users": users[:CHOICES_LIMIT]}


def visible_users(request) -> QuerySet[User]:
    return User.objects.visible_to(getattr(request, "user", None))


class ChoiceByNameFilter(django_filters.ModelChoiceFilter):
    """A user by id or user name, a key by id or prefix (``hub.forms.ChoiceByNameField``)."""

    field_class = ChoiceByNameField

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # An id or a name: a string in the API's schema (not the model's integer id), described
        # by the filter's help text.
        extend_schema_field({"type": "string", "description": self.extra.get("help_text", "")})(self)


class LogFilterForm(forms.Form):
    def clean_status(self):
        value = (self.cleaned_data.get("status") or "").strip().lower()
        if value and not STATUS_PATTERN.match(value):
            raise forms.ValidationError(
                _("Use an HTTP status such as 429, a class: 2xx, 4xx, 5xx, or none (no status recorded).")
            )
        return value

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start >= end:
            self.add_error("end", _("The end must be after the start."))
        return cleaned


class OwnedFilterSet(django_filters.FilterSet):
    """The filters every list of a user's data shares: whose rows (``user``, admins only; a user
    naming someone else is refused) and through which key. A refused value shows nothing and
    the reason, never a widened or silently dropped filter."""

    user = ChoiceByNameFilter(
        label=_("User"), queryset=visible_users, name_field="username",
        error_messages={"invalid_choice": REFUSED_USER},
        help_text=_("A user name or id (admins; a user may only name themselves)."),
    )  # fmt: skip
    key = ChoiceByNameFilter(
        label=_("Key"), queryset=visible_keys, empty_label=_("All keys"), name_field="prefix",
        help_text=_("A key's id or prefix (uhk_…), among the keys you may see."),
        error_messages={"invalid_choice": REFUSED_KEY},
    )  # fmt: skip

    class Meta:
        form = LogFilterForm

    @property
    def form(self):
        form = super().form
        form.viewer = getattr(self.request, "user", None)
        if not sees_everything(form.viewer):
            form.fields["user"].widget = forms.HiddenInput()
        return form

    @property
    def qs(self):
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return super().qs


class MessageRequestFilterSet(OwnedFilterSet):
    range = django_filters.ChoiceFilter(
        label=_("Quick range"), choices=RANGES, method="filter_nothing",
        help_text=_("In the system time zone; weeks start on Monday. Without range, start or end: the last 7 days."),
    )  # fmt: skip
    start = MomentFilter(
        label=_("From"), field_name="created_at", lookup_expr="gte",
        help_text=_("ISO 8601; without an offset, in the system time zone. Replaces the range's start."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    end = MomentFilter(
        label=_("Until"), field_name="created_at", lookup_expr="lt",
        help_text=_("Exclusive; ISO 8601, without an offset in the system time zone. Replaces the range's end."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    provider = django_filters.ModelChoiceFilter(
        label=_("Provider"), queryset=Provider.objects.order_by("name"), empty_label=_("All providers"),
        error_messages={"invalid_choice": _("“%(value)s” is not a provider.")},
    )  # fmt: skip
    status = django_filters.CharFilter(
        label=_("Status"), method="filter_status", max_length=4,
        help_text=_("An HTTP status such as 429, a class: 2xx, 4xx, 5xx, or none (no status recorded)."),
    )  # fmt: skip
    model = django_filters.CharFilter(label=_("Model"), field_name="model", max_length=128)
    original_model = django_filters.CharFilter(label=_("Original model"), field_name="original_model", max_length=128)
    endpoint = django_filters.CharFilter(label=_("Endpoint"), field_name="endpoint", max_length=255)
    session = django_filters.CharFilter(label=_("Session"), field_name="session_id", max_length=128)
    errors = FlagFilter(
        label=_("Errors only"), method="filter_errors",
        help_text=_("true: only requests with a status of 400 or more, or an error message."),
    )  # fmt: skip
    zero_tokens = FlagFilter(
        label=_("Successful with zero tokens"), method="filter_zero_tokens",
        help_text=_("true: only successful requests that reported no tokens at all."),
    )  # fmt: skip
    incomplete = FlagFilter(
        label=_("Incomplete streams"), method="filter_incomplete",
        help_text=_("true: only streams that ended before their final usage event (tokens as far as known)."),
    )  # fmt: skip
    no_price = FlagFilter(
        label=_("No price"), method="filter_no_price",
        help_text=_("true: only requests whose model had no price, so no cost was stored."),
    )  # fmt: skip

    class Meta(OwnedFilterSet.Meta):
        model = MessageRequest
        fields: list[str] = []

    def filter_nothing(self, queryset, name, value):
        return queryset  # applied by window(): the range only sets start and end

    def filter_status(self, queryset, name, value):
        if not value:
            return queryset
        if value == "none":  # no response: what the providers' availability counts as a failure
            return queryset.filter(status_code__isnull=True)
        if value.endswith("xx"):
            return queryset.filter(in_status_class(int(value[0])))
        return queryset.filter(status_code=int(value))

    def filter_errors(self, queryset, name, value):
        if not value:
            return queryset
        # The condition of the partial index mr_errors_created, and of the rollups' error count.
        return queryset.filter(ERROR)

    def filter_zero_tokens(self, queryset, name, value):
        return queryset.filter(ZERO_TOKENS) if value else queryset

    def filter_incomplete(self, queryset, name, value):
        return queryset.filter(INCOMPLETE) if value else queryset

    def filter_no_price(self, queryset, name, value):
        # The exact condition of the partial index mr_no_price_created.
        return queryset.filter(price_missing=True) if value else queryset

    def window(self) -> tuple[datetime, datetime | None]:
        """[start, end) the list covers (end None: up to now and beyond).

        A quick range gives both bounds, an explicit start or end replaces the range's, and
        with neither the list covers the last 7 days: no visit reads the whole table."""
        if getattr(self, "_window", None) is None:
            # Computed once: the rows, their count and the page header share one "now".
            data = self.form.cleaned_data if self.form.is_valid() else {}
            start, end = range_bounds(data["range"]) if data.get("range") else (None, None)
            start, end = data.get("start") or start, data.get("end") or end
            if start is None:
                start = (end or timezone.now()) - DEFAULT_WINDOW
            self._window = (start, end)
        return self._window

    def active_range(self) -> str:
        """The quick range that describes the window, for the page to highlight."""
        data = self.form.cleaned_data if self.form.is_valid() else {}
        if data.get("start") or data.get("end"):
            return ""
        return data.get("range") or "last_7_days"

    @property
    def qs(self):
        queryset = super().qs
        if self.is_bound and not self.is_valid():
            return queryset
        start, end = self.window()
        queryset = queryset.filter(created_at__gte=start)
        return queryset.filter(created_at__lt=end) if end else queryset
