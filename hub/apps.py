from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = _("Accounts and settings")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers system checks)
