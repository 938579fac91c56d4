from django.urls import reverse

from hub.cache import redis_down
from hub.navigation import ENTRIES
from hub.visibility import is_known, sees_everything


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if not is_known(user):
        return {"nav_entries": []}
    current = getattr(getattr(request, "resolver_match", None), "url_name", None)
    entries = [
        {"url": reverse(entry.url_name), "label": entry.label, "active": entry.url_name == current}
        for entry in ENTRIES
        if entry.shown_to(user)
    ]
    admin = sees_everything(user)
    # Admins learn that the hub runs degraded; everyone else just gets slower pages.
    return {"nav_entries": entries, "nav_show_admin": admin, "redis_down": admin and redis_down()}
