"""Read queries over requests. Every one starts from ``visible_to(viewer)``."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Max, QuerySet, Sum

from usage.models import MessageRequest


def request_log(*, viewer) -> QuerySet[MessageRequest]:
    return MessageRequest.objects.visible_to(viewer).live().select_related("user", "key", "provider")


def request_summary(*, viewer, since: datetime) -> dict:
    """Requests, tokens and cost the viewer may see since a moment (a bounded window)."""
    rows = MessageRequest.objects.visible_to(viewer).live().filter(created_at__gte=since)
    return rows.aggregate(
        requests=Count("id"),
        cost=Sum("cost"),
        input_tokens=Sum("input_tokens"),
        output_tokens=Sum("output_tokens"),
        latest=Max("created_at"),
    )
