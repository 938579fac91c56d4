"""The navigation bar. A page adds its entry here when it lands, never before."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from hub.visibility import is_known, may_see_leaderboard, sees_everything


def _not_admin(user) -> bool:
    """A user's own figures: admins reach everyone's, their own included, from the leaderboard."""
    return is_known(user) and not sees_everything(user)


@dataclass(frozen=True)
class Entry:
    url_name: str
    label: str
    #: who sees the entry: the page family's own rule from hub.visibility
    shown_to: Callable = is_known
    own: bool = False  # the viewer's own page: its URL takes their id


ENTRIES = (
    Entry("home", _("Overview")),
    Entry("logs", _("Logs")),
    Entry("sessions", _("Sessions")),
    Entry("leaderboard", _("Leaderboard"), shown_to=may_see_leaderboard),
    Entry("leaderboard-user", _("My usage"), shown_to=_not_admin, own=True),
    Entry("tokens", _("Tokens")),
    Entry("availability", _("Availability"), shown_to=sees_everything),
    Entry("keys", _("API keys")),
    Entry("api-docs", _("API")),
)
