"""The navigation bar. A page adds its entry here when it lands, never before."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Entry:
    url_name: str
    label: str
    admin_only: bool = False


ENTRIES = (
    Entry("home", _("Overview")),
    Entry("logs", _("Logs")),
    Entry("keys", _("API keys")),
    Entry("api-docs", _("API")),
)
