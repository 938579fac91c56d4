"""sessions_app listens to usage: every stored request row updates its session, in the same
transaction; a purge of old rows rebuilds or removes the sessions that held them."""

from django.dispatch import receiver

from sessions_app.services import sessions_recompute, sessions_record
from usage.signals import requests_purged, requests_stored


@receiver(requests_stored, dispatch_uid="sessions-record")
def record_sessions(sender, *, rows, **kwargs) -> None:
    sessions_record(rows=rows)


@receiver(requests_purged, dispatch_uid="sessions-recompute")
def recompute_sessions(sender, *, before, **kwargs) -> None:
    sessions_recompute(before=before)
