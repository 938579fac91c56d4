from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What the key is for, e.g. 'CI gateway'."))
    scope_ingest = forms.BooleanField(label=_("May push records (ingest)"), required=False, initial=True)
    scope_read = forms.BooleanField(label=_("May read logs and statistics (read)"), required=False, initial=True)
    expires_at = forms.DateTimeField(
        label=_("Expires at"), required=False, help_text=_("Optional; leave empty for a key that does not expire."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )  # fmt: skip

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
