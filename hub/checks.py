"""Configuration errors caught at start, with stable ids."""

import zoneinfo

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility)
def time_zone_is_known(app_configs, **kwargs):
    if settings.TIME_ZONE not in zoneinfo.available_timezones():
        return [Error(f"TIME_ZONE={settings.TIME_ZONE!r} is not a known time zone.", id="hub.E001")]
    return []


@register(Tags.compatibility)
def database_is_postgresql(app_configs, **kwargs):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        return [Error(f"The hub runs on PostgreSQL only; DATABASE_URL gives {engine}.", id="hub.E002")]
    return []
