from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    label = "sessions_app"
    verbose_name = _("Sessions")

    def ready(self) -> None:
        from sessions_app import receivers  # noqa: F401  (listens to usage's signals)
