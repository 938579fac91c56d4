from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.models import User
from hub.visibility import sees_everything

#: how many users or keys a filter lists: past this it is a text box (a name, a key's prefix or an
#: id) and only the first ones are suggested, so a page of a hub with 10,000 keys stays small
CHOICES_LIMIT = 200


class ChoiceByNameField(forms.ModelChoiceField):
    """A choice by its id or by a name (a user's username, a key's prefix as the keys page shows
    it), among the field's queryset: a page may offer a text box instead of listing thousands
    of choices, and the API takes either spelling."""

    def __init__(self, *args, name_field: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.name_field = name_field

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value)
        if text.isascii() and text.isdigit():
            return super().to_python(text)
        # (PostgreSQL cannot compare a string holding NUL; no name is longer than 150 characters)
        found = None if "\x00" in text or len(text) > 150 else self.queryset.filter(**{self.name_field: text}).first()
        if found is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                        params={"value": text})  # fmt: skip
        return found

    def typed_past(self, limit: int = CHOICES_LIMIT, placeholder: str = "") -> bool:
        """A text box instead of a list when the queryset holds more than ``limit`` choices;
        True when it became one."""
        if self.queryset[: limit + 1].count() <= limit:
            return False
        self.widget = forms.TextInput(attrs={"placeholder": placeholder, "autocomplete": "off", "maxlength": 150})
        return True


class ApiKeyCreateForm(forms.Form):
    """A new key: its owner is the viewer, or for an admin anyone active (a gateway's key, a
    key made for a colleague)."""

    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What the key is for, e.g. 'CI gateway'."))
    scope_ingest = forms.BooleanField(label=_("May push records (ingest)"), required=False, initial=True)
    scope_read = forms.BooleanField(label=_("May read logs and statistics (read)"), required=False, initial=True)
    expires_at = forms.DateTimeField(
        label=_("Expires at"), required=False, help_text=_("Optional; leave empty for a key that does not expire."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )  # fmt: skip

    def __init__(self, data=None, *, viewer, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.viewer = viewer
        if sees_everything(viewer):
            owner = ChoiceByNameField(
                label=_("Owner"), queryset=User.objects.filter(is_active=True).order_by("username"),
                initial=viewer.pk, required=False, empty_label=None, name_field="username",
                help_text=_("Whose requests the key sends and reads; yours when left out."),
            )  # fmt: skip
            if owner.typed_past(placeholder=_("name or id")):
                owner.initial = viewer.username  # a name to read in the box, not an id
            self.fields = {"owner": owner, **self.fields}

    def owner(self) -> User:
        return self.cleaned_data.get("owner") or self.viewer

    def clean_expires_at(self):
        value = self.cleaned_data["expires_at"]
        if value is not None and value <= timezone.now():
            raise forms.ValidationError(_("The expiry must be in the future."))
        return value

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("scope_ingest") or cleaned.get("scope_read")):
            raise forms.ValidationError(_("A key needs at least one scope."))
        return cleaned
