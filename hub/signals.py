"""What hub asks of the apps to its right without importing them.

``history_lookup``: sent before an admin may delete a user, an API key or a provider, with
``instance``. A receiver answers True when rows it owns still point at the instance (its
history): such an object is disabled, never deleted, so no cascade walks the request table.

``worker_warming``: sent once as a web worker boots (``hub.gunicorn``), before it serves a
request. A receiver loads what the first requests would otherwise load on the way (a price
catalogue), so the first request after a start is as quick as the rest.
"""

from django.dispatch import Signal

history_lookup = Signal()
worker_warming = Signal()


def has_history(instance) -> bool:
    responses = history_lookup.send(sender=type(instance), instance=instance)
    return any(response is True for _receiver, response in responses)
