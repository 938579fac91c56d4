"""The filters of the statistics, one definition for the pages and the API.

A viewer can only name what they may see: a user naming another user (or another user's
key) gets a form error on the page and a 400 naming the parameter in the API, never a
silently widened or dropped filter.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from hub.forms import ChoiceByNameField
from hub.models import ApiKey, User
from hub.visibility import REFUSED_KEY, REFUSED_USER, key_choice_label, sees_everything
from providers.models import Provider


class StatsFilterForm(forms.Form):
    user = ChoiceByNameField(label=_("User"), queryset=User.objects.none(), required=False, name_field="username")
    key = ChoiceByNameField(label=_("Key"), queryset=ApiKey.objects.none(), required=False, name_field="prefix")
    provider = forms.ModelChoiceField(label=_("Provider"), queryset=Provider.objects.all(), required=False)
    model = forms.CharField(label=_("Model"), required=False, max_length=128)

    def __init__(self, data=None, *, viewer, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.viewer = viewer
        self.fields["user"].queryset = User.objects.visible_to(viewer).order_by("username")
        self.fields["key"].queryset = ApiKey.objects.visible_to(viewer).select_related("owner").order_by("name")
        self.fields["user"].empty_label = _("All users")
        self.fields["key"].empty_label = _("All keys")
        self.fields["provider"].empty_label = _("All providers")
        # The same refusals and key labels as the request log's filters.
        self.fields["user"].error_messages["invalid_choice"] = REFUSED_USER
        self.fields["key"].error_messages["invalid_choice"] = REFUSED_KEY
        # Users see only their own figures: the page hides the choice, the API still checks it.
        self.shows_user = sees_everything(viewer)
        self.fields["key"].label_from_instance = lambda key: key_choice_label(key, with_owner=self.shows_user)
        # Thousands of users or keys are typed, not listed (a 10,000-key select took a second to render).
        self.fields["user"].typed_past(placeholder=_("name or id"))
        self.fields["key"].typed_past(placeholder=_("prefix (uhk_…) or id"))

    def filters(self) -> dict:
        """The cleaned filters as rollup field lookups (``model`` is the model asked for)."""
        data = self.cleaned_data
        found = {
            "user_id": data.get("user").pk if data.get("user") else None,
            "key_id": data.get("key").pk if data.get("key") else None,
            "provider_id": data.get("provider").pk if data.get("provider") else None,
            "original_model": data.get("model") or None,
        }
        return {name: value for name, value in found.items() if value is not None}
