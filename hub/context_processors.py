from django.urls import reverse

from hub.cache import redis_down
from hub.navigation import ENTRIES
from hub.visibility import is_known, sees_everything


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if not is_known(user):
        return {"nav_entries": []}
    match = getattr(request, "resolver_match", None)
    current = getattr(match, "url_name", None)
    current_args = [str(value) for value in getattr(match, "kwargs", {}).values()]
    entries = []
    for entry in ENTRIES:
        if not entry.shown_to(user):
            continue
        args = [user.pk] if entry.own else []
        active = entry.url_name == current and current_args == [str(arg) for arg in args]
        entries.append({"url": reverse(entry.url_name, args=args), "label": entry.label, "active": active})
    admin = sees_everything(user)
    # Admins learn that the hub runs degraded; everyone else just gets slower pages.
    return {"nav_entries": entries, "nav_show_admin": admin, "redis_down": admin and redis_down()}
