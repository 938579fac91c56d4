"""usage answers the questions hub and providers ask through their signals."""

from django.dispatch import receiver

from hub.models import ApiKey, User
from hub.signals import history_lookup
from providers.models import Provider
from usage.models import MessageRequest

_OWNER_FIELD = {User: "user", ApiKey: "key", Provider: "provider"}


@receiver(history_lookup, dispatch_uid="usage-request-history")
def requests_point_at(sender, *, instance, **kwargs) -> bool:
    """Whether stored requests name this user, key or provider."""
    field = _OWNER_FIELD.get(sender)
    return field is not None and MessageRequest.objects.filter(**{field: instance}).exists()
