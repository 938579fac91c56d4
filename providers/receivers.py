"""providers answers what hub asks through its signals."""

from django.dispatch import receiver

from hub.signals import worker_warming
from providers import pricing


@receiver(worker_warming, dispatch_uid="providers-warm-catalogue")
def load_the_price_catalogue(sender, **kwargs) -> None:
    pricing.warm()
