"""Read queries of sessions: the only place that builds their lists and aggregates.

Lists read the ``Session`` rows the write path keeps current, never the request table, and
are kept a few seconds in the cache under the viewer's visibility and the query: a page that
refreshes itself every 3 s costs the database the same for one viewer or fifty."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Avg, Count, Max, Min, QuerySet, Sum
from django.utils import timezone

from hub.models import SystemSettings
from hub.visibility import audience
from providers.models import Provider
from sessions_app.models import Session
from usage.definitions import ERROR, MESSAGE_ATTRIBUTES
from usage.models import MessageRequest
from usage.selectors import KeysetPage, keyset_page

#: a session is active while its last request is this recent
ACTIVE_SESSION_WINDOW = timedelta(minutes=5)
#: how long a list is shared between viewers who see the same rows with the same filters
LIST_CACHE_SECONDS = 2
PAGE_SIZE = 50
DETAIL_REQUESTS_LIMIT = 500


def session_list(*, viewer) -> QuerySet[Session]:
    return Session.objects.visible_to(viewer).select_related("user", "key")


def active_boundary(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - ACTIVE_SESSION_WINDOW


@dataclass
class SessionListing:
    page: KeysetPage
    active_count: int
    now: datetime


def _cached(key_parts: tuple, compute):
    material = "|".join(str(part) for part in key_parts)
    key = "sessions:list:" + hashlib.blake2b(material.encode(), digest_size=16).hexdigest()
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, LIST_CACHE_SECONDS)
    return found


def session_listing(filterset, *, viewer, after: str = "", before: str = "", size: int = PAGE_SIZE) -> SessionListing:
    """A page of sessions, latest activity first (the active ones come first by that order),
    with how many sessions of the view are active. Shared for a few seconds between viewers
    who see the same rows (``audience``) with the same filters."""

    def compute() -> SessionListing:
        now = timezone.now()
        rows = filterset.qs
        page = keyset_page(rows, field="last_request_at", after=after, before=before, size=size)
        boundary = active_boundary(now)
        for session in page.rows:
            session.is_active = session.last_request_at >= boundary
        active = rows.filter(last_request_at__gte=boundary).count()
        return SessionListing(page=page, active_count=active, now=now)

    query = sorted((name, value) for name, value in filterset.data.items() if name not in ("after", "before", "size"))
    return _cached(("list", audience(viewer), query, after, before, size), compute)


def active_sessions(*, viewer, limit: int = 10) -> tuple[list[Session], int]:
    """The latest active sessions and how many are active: the dashboard's panel."""

    def compute():
        now = timezone.now()
        active = session_list(viewer=viewer).filter(last_request_at__gte=active_boundary(now))
        return list(active.order_by("-last_request_at", "-id")[:limit]), active.count()

    return _cached(("active", audience(viewer), limit), compute)


def active_session_count(*, viewer) -> int:
    return active_sessions(viewer=viewer)[1]


# --- one session --------------------------------------------------------------------------


def session_requests(session: Session) -> QuerySet[MessageRequest]:
    """The session's requests, oldest first (its partial index on session_id, created_at)."""
    return (
        MessageRequest.objects.live()
        .filter(
            user_id=session.user_id,
            session_id=session.session_id,
            created_at__gte=session.first_request_at,
            created_at__lte=session.last_request_at,
        )
        .order_by("created_at", "id")
    )


@dataclass
class SessionDetail:
    session: Session
    requests: list[MessageRequest]
    more_requests: int
    providers: list[dict]
    turns: list[dict]
    messages_stored: bool
    messages_expire_at: datetime | None
    messages_setting_on: bool
    messages_days: int


#: what the session page's table of requests shows (the API reads whole rows)
_TABLE_FIELDS = (
    "id", "created_at", "user_id", "provider__name", "model", "status_code", "error_message", "input_tokens",
    "output_tokens", "cache_creation_tokens", "cache_read_tokens", "cost", "duration_ms",
)  # fmt: skip


#: the JSON and long columns a session's list of requests in the API does not show
_API_SKIPS = frozenset({"cost_breakdown", "provider_chain", "attributes", "user_agent"})


def session_detail(session: Session, *, whole_rows: bool = False) -> SessionDetail:
    """``whole_rows``: the requests' columns the API lists (not their JSON: breakdown, chain,
    attributes) with their user's, key's and provider's names; else the columns the page's
    table shows. Either way, attributes only of the requests that hold a conversation."""
    rows = session_requests(session)
    if whole_rows:
        requests = list(
            rows.select_related("user", "key", "provider")
            .only(*(f.name for f in MessageRequest._meta.concrete_fields if f.name not in _API_SKIPS),
                  "user__username", "key__name", "provider__name")[:DETAIL_REQUESTS_LIMIT]
        )  # fmt: skip
    else:
        requests = list(rows.select_related("provider").only(*_TABLE_FIELDS)[:DETAIL_REQUESTS_LIMIT])
    per_provider = (
        rows.order_by()
        .values("provider_id", "model")
        .annotate(
            requests=Count("id"),
            errors=Count("id", filter=ERROR),
            first=Min("created_at"),
            last=Max("created_at"),
            cost=Sum("cost"),
            avg_duration=Avg("duration_ms"),
        )  # fmt: skip
    )
    names = dict(Provider.objects.filter(pk__in=session.provider_ids).values_list("pk", "name"))
    providers: dict = {}
    for row in per_provider:
        entry = providers.setdefault(row["provider_id"], {"name": names.get(row["provider_id"]), "models": [],
                                                           "requests": 0, "errors": 0})  # fmt: skip
        entry["models"].append(row)
        entry["requests"] += row["requests"]
        entry["errors"] += row["errors"]
    # Only the requests that hold a conversation carry their attributes here.
    with_messages = rows.filter(attributes__has_any_keys=list(MESSAGE_ATTRIBUTES)).only(
        "id", "created_at", "model", "attributes"
    )[:DETAIL_REQUESTS_LIMIT]
    turns = [
        {"request": request, **{name: request.attributes.get(name) for name in MESSAGE_ATTRIBUTES}}
        for request in with_messages
        if any(request.attributes.get(name) for name in MESSAGE_ATTRIBUTES)
    ]
    settings_row = SystemSettings.get()
    days = settings_row.session_messages_days
    oldest_kept = min((turn["request"].created_at for turn in turns), default=None)
    return SessionDetail(
        session=session,
        requests=requests,
        more_requests=max(session.requests - len(requests), 0),
        providers=sorted(providers.values(), key=lambda p: -p["requests"]),
        turns=turns,
        messages_stored=bool(turns),
        messages_expire_at=oldest_kept + timedelta(days=days) if oldest_kept else None,
        messages_setting_on=settings_row.store_session_messages,
        messages_days=days,
    )
