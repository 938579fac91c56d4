from django.utils import timezone

from hub.models import SystemSettings


class SystemTimezoneMiddleware:
    """Show times in the hub's configured zone (DESIGN decision 3)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.activate(SystemSettings.get().zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
