"""The one visibility policy (DESIGN decision 2).

Every read of user data, raw rows and rollups alike, goes through ``visible_to(viewer)`` on a
model's queryset: anonymous viewers see nothing, admins see everything, anyone else sees only
the rows they own. A read names its ``Scope``: the rows themselves (``OWN``), or the figures
of the leaderboard (``LEADERBOARD``), which System settings may open to every user. Which
page family a viewer may open is one ``may_see_…`` rule here, used by navigation, pages, API
and selectors alike. Models name their owner field; the rule itself lives only here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Self

from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from hub.models import User


class Scope(StrEnum):
    #: the viewer's own rows (every row for an admin)
    OWN = "own"
    #: aggregate figures on the leaderboard: everyone's for whoever may see the leaderboard
    LEADERBOARD = "leaderboard"


def is_known(viewer: Any) -> bool:
    return bool(viewer is not None and viewer.is_authenticated and viewer.is_active)


def sees_everything(viewer: User | AnonymousUser | None) -> bool:
    return bool(is_known(viewer) and viewer.is_admin)


def may_see_leaderboard(viewer: User | AnonymousUser | None) -> bool:
    """Admins, and every signed-in user while System settings open the leaderboard."""
    if sees_everything(viewer):
        return True
    from hub.models import SystemSettings  # hub.models builds its querysets on this module

    return is_known(viewer) and SystemSettings.get().allow_global_usage_view


LEADERBOARD_REFUSAL = _("The leaderboard is for admins unless System settings open it to everyone.")
# How every page and API refuses a filter naming what the viewer may not see: one wording.
REFUSED_USER = _("“%(value)s” is not a user whose requests you may see.")
REFUSED_KEY = _("“%(value)s” is not a key whose requests you may see.")


def key_choice_label(key, *, with_owner: bool) -> str:
    """A key in a filter's choices, the same on every page: its name, and its owner's for admins."""
    return f"{key.name} · {key.owner}" if with_owner else key.name


def may_see_logs_of(viewer: User | AnonymousUser | None, user_id: int | None) -> bool:
    """Whose request logs a viewer may open: an admin anyone's, a user their own."""
    return sees_everything(viewer) or (is_known(viewer) and user_id is not None and user_id == viewer.pk)


def _sees_all(viewer, scope: Scope) -> bool:
    return sees_everything(viewer) or (scope is Scope.LEADERBOARD and may_see_leaderboard(viewer))


def audience(viewer, scope: Scope = Scope.OWN) -> str:
    """Whose rows a read returns, as a cache key part: "all", "user=<id>" or "none"."""
    if not is_known(viewer):
        return "none"
    return "all" if _sees_all(viewer, scope) else f"user={viewer.pk}"


class VisibleQuerySet(models.QuerySet):
    #: the field that points at the owning ``User``; ``"pk"`` for the user model itself
    owner_field = "user"

    def visible_to(self, viewer: User | AnonymousUser | None, *, scope: Scope = Scope.OWN) -> Self:
        if not is_known(viewer):
            return self.none()
        if _sees_all(viewer, scope):
            return self.all()
        return self.filter(**{self.owner_field: viewer.pk if self.owner_field == "pk" else viewer})
