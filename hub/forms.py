from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.models import User
from hub.visibility import sees_everything


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
            self.fields = {
                "owner": forms.ModelChoiceField(
                    label=_("Owner"), queryset=User.objects.filter(is_active=True).order_by("username"),
                    initial=viewer.pk, required=False, empty_label=None,
                    help_text=_("Whose requests the key sends and reads; yours when left out."),
                ),
                **self.fields,
            }  # fmt: skip

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
