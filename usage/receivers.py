"""usage answers the questions hub and providers ask through their signals."""

from django.dispatch import receiver

from hub.models import ApiKey, User
from hub.signals import history_lookup
from providers.models import Provider
from providers.signals import UnpricedModel, unpriced_lookup
from usage.models import MessageRequest
from usage.unpriced import unpriced_models

_OWNER_FIELD = {User: "user", ApiKey: "key", Provider: "provider"}


@receiver(history_lookup, dispatch_uid="usage-request-history")
def requests_point_at(sender, *, instance, **kwargs) -> bool:
    """Whether stored requests name this user, key or provider."""
    field = _OWNER_FIELD.get(sender)
    return field is not None and MessageRequest.objects.filter(**{field: instance}).exists()


@receiver(unpriced_lookup, dispatch_uid="usage-unpriced-models")
def models_billed_without_a_price(sender, *, viewer, since, until, **kwargs) -> list[UnpricedModel]:
    """The models stored without a price in [since, until), with their request counts."""
    return unpriced_models(viewer=viewer, since=since, until=until)
