from django.utils import timezone

from hub.models import SystemSettings


class SystemTimezoneMiddleware:
    """Show times in the hub's configured zone (DESIGN decision 3), reading the settings once
    for the whole request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with SystemSettings.for_request() as system:
            timezone.activate(system.zone)
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()
