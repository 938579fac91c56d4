"""Read queries of sessions: the only place that builds their aggregates."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Max, Sum
from django.utils import timezone

from usage.models import MessageRequest

#: a session is active while its last request is this recent
ACTIVE_SESSION_WINDOW = timedelta(minutes=5)


def _recent(*, viewer, now: datetime | None):
    since = (now or timezone.now()) - ACTIVE_SESSION_WINDOW
    return MessageRequest.objects.visible_to(viewer).live().filter(created_at__gte=since).exclude(session_id="")


def active_sessions(*, viewer, now: datetime | None = None, limit: int = 50) -> list[dict]:
    """Sessions with a request in the last five minutes, latest first: a small window of raw rows."""
    rows = (
        _recent(viewer=viewer, now=now)
        .values("session_id", "user__username", "user_id")
        .annotate(
            requests=Count("id"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            cost=Sum("cost"),
            model=Max("model"),
            last=Max("created_at"),
        )
        .order_by("-last")
    )
    return list(rows[:limit])


def active_session_count(*, viewer, now: datetime | None = None) -> int:
    """How many sessions had a request in the last five minutes (the list shows the latest few)."""
    return _recent(viewer=viewer, now=now).values("session_id").distinct().count()
