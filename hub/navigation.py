"""The navigation bar. A page adds its entry here when it lands, never before."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Entry:
    url_name: str
    label: str
    admin_only: bool = False
    opened_by: str = ""  # a SystemSettings flag that opens an admin-only entry to everyone


ENTRIES = (
    Entry("home", _("Overview")),
    Entry("logs", _("Logs")),
    Entry("leaderboard", _("Leaderboard"), admin_only=True, opened_by="allow_global_usage_view"),
    Entry("tokens", _("Tokens")),
    Entry("keys", _("API keys")),
    Entry("api-docs", _("API")),
)
