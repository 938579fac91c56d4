"""The one visibility policy (DESIGN decision 2).

Every read of user data goes through ``visible_to(viewer)`` on a model's queryset:
anonymous viewers see nothing, admins see everything, anyone else sees only the
rows they own. Models name their owner field; the rule itself lives only here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from hub.models import User


def sees_everything(viewer: User | AnonymousUser | None) -> bool:
    return bool(viewer is not None and viewer.is_authenticated and viewer.is_active and viewer.is_admin)


def is_known(viewer: Any) -> bool:
    return bool(viewer is not None and viewer.is_authenticated and viewer.is_active)


class VisibleQuerySet(models.QuerySet):
    #: the field that points at the owning ``User``; ``"pk"`` for the user model itself
    owner_field = "user"

    def visible_to(self, viewer: User | AnonymousUser | None) -> Self:
        if not is_known(viewer):
            return self.none()
        if sees_everything(viewer):
            return self.all()
        return self.filter(**{self.owner_field: viewer.pk if self.owner_field == "pk" else viewer})
