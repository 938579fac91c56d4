from django.urls import reverse

from hub.models import SystemSettings
from hub.navigation import ENTRIES
from hub.visibility import sees_everything


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_entries": []}
    is_admin = sees_everything(user)
    current = getattr(getattr(request, "resolver_match", None), "url_name", None)
    entries = [
        {"url": reverse(entry.url_name), "label": entry.label, "active": entry.url_name == current}
        for entry in ENTRIES
        if is_admin or not entry.admin_only or (entry.opened_by and getattr(SystemSettings.get(), entry.opened_by))
    ]
    return {"nav_entries": entries, "nav_show_admin": is_admin}
