"""What hub asks of the apps to its right without importing them.

``history_lookup``: sent before an admin may delete a user, an API key or a provider, with
``instance``. A receiver answers True when rows it owns still point at the instance (its
history): such an object is disabled, never deleted, so no cascade walks the request table.
"""

from django.dispatch import Signal

history_lookup = Signal()


def has_history(instance) -> bool:
    responses = history_lookup.send(sender=type(instance), instance=instance)
    return any(response is True for _receiver, response in responses)
