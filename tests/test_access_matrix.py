"""Every route of the hub x every kind of caller -> the status it must answer, and no leak.

The routes come from the URL configuration (``get_resolver()``), so a new page or endpoint is
covered without anyone adding it here; a route the table below does not name fails the test,
so whoever adds one decides who may open it. For every answer a reader gets, none of the other
user's markers (session ids, models, request ids, key names, usernames, costs) appears in it:
HTML, JSON, CSV and the chart JSON embedded in pages alike. Both users are seeded with data
that shows: every marker appears in some answer to its owner and to the admin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.crypto import get_random_string

from hub.models import User
from sessions_app.models import Session

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "user_a", "user_b", "admin", "ingest_key", "read_key", "disabled_key", "expired_key")
#: roles signed in with a session; the others send (or not) a bearer key and no session
SESSION_ROLES = {"user_a", "user_b", "admin"}
#: whose view each role has, for the leak check (keys are user A's)
READS_AS = {"user_a": "a", "read_key": "a", "ingest_key": "a", "user_b": "b"}

SKIPPED_PREFIXES = ("admin/", "i18n/", "static/", "^")


@dataclass(frozen=True)
class Access:
    """Who gets which status on one kind of route; ``object`` names user A's object for ``<int:pk>``."""

    statuses: dict[str, int]
    method: str = "get"
    query: dict = field(default_factory=dict)
    object: str | None = None
    body: object = None


def _page(*, users: int = 200, user_b: int | None = None, **extra) -> dict[str, int]:
    """A page: session only; a bearer key is no way into a page (-> login)."""
    statuses = {role: 302 for role in ROLES}
    statuses.update(user_a=users, user_b=users if user_b is None else user_b, admin=200)
    statuses.update(extra)
    return statuses


def _api(*, scope: str | None, users: int = 200, user_b: int | None = None, sessions: bool = True) -> dict[str, int]:
    """An API route: 401 without usable credentials, 403 for a key without the scope."""
    statuses = {"anonymous": 401, "disabled_key": 401, "expired_key": 401}
    statuses.update(
        user_a=users if sessions else 401,
        user_b=(users if user_b is None else user_b) if sessions else 401,
        admin=200 if sessions else 401,
        ingest_key=users if scope in (None, "ingest") else 403,
        read_key=users if scope in (None, "read") else 403,
    )
    return statuses


PUBLIC = {role: 200 for role in ROLES}
LOGIN = {**PUBLIC, **{role: 302 for role in SESSION_ROLES}}  # a signed-in visitor is sent on
# The API's description is public, but a key that is sent is checked, like on every API route.
API_DOCUMENT = {**PUBLIC, "disabled_key": 401, "expired_key": 401}
NATIVE_RECORD = {"request_id": "matrix-ingest", "created_at": "now", "model": "m", "input_tokens": 1}

#: route name -> who may do what. A route missing here fails test_every_route_has_an_entry.
TABLE: dict[str, Access] = {
    # pages
    "home": Access(_page()),
    "leaderboard": Access(_page(users=403)),  # admins only unless System settings open it
    "leaderboard-user": Access(_page(user_b=403), object="user_a"),
    "tokens": Access(_page()),
    "availability": Access(_page(users=403)),  # admins only
    "sessions": Access(_page()),
    "sessions-active-panel": Access(_page()),
    "sessions-export": Access(_page()),
    "session-detail": Access(_page(user_b=404), object="session_a"),
    "logs": Access(_page()),
    "logs-export": Access(_page()),
    "logs-statement": Access(_page(), query={"month": "this"}),
    "log-detail": Access(_page(user_b=404), object="request_a"),
    "keys": Access(_page()),
    "key-toggle": Access(_page(users=302, user_b=404, admin=302), method="post", object="toggle_key_a"),
    "login": Access(LOGIN),
    "logout": Access({role: 302 for role in ROLES}, method="post"),
    # health checks for load balancers: nothing to see, no credentials asked or checked
    "healthz": Access(PUBLIC),
    "readyz": Access(PUBLIC),
    # Prometheus: an admin's key with the metrics scope or an allowed address (none here), never a session
    "metrics": Access({**{role: 401 for role in ROLES}, "ingest_key": 403, "read_key": 403}),
    "api-docs": Access(API_DOCUMENT),
    "api-schema": Access(API_DOCUMENT),
    # API
    "api-me": Access(_api(scope=None)),
    "api-requests": Access(_api(scope="read")),
    "api-requests-export": Access(_api(scope="read")),
    "api-request-detail": Access(_api(scope="read", user_b=404), object="request_a"),
    "api-sessions": Access(_api(scope="read")),
    "api-session-detail": Access(_api(scope="read", user_b=404), object="session_a"),
    "api-stats-overview": Access(_api(scope="read")),
    "api-stats-leaderboard": Access(_api(scope="read", users=403)),
    "api-stats-tokens": Access(_api(scope="read")),
    "api-stats-timeseries": Access(_api(scope="read")),
    "api-providers-availability": Access(_api(scope="read", users=403)),  # admins only
    "api-ingest-records": Access(_api(scope="ingest", sessions=False), method="post", body=[NATIVE_RECORD]),
    "api-ingest-openclaw": Access(
        _api(scope="ingest", sessions=False), method="post", query={"filename": "matrix.jsonl"}, body=""
    ),
    "api-otlp-traces": Access(_api(scope="ingest", sessions=False), method="post", body={}),
    "api-otlp-metrics": Access(_api(scope="ingest", sessions=False), method="post", body={}),
    "api-otlp-logs": Access(_api(scope="ingest", sessions=False), method="post", body={}),
}


def discovered_routes(patterns=None, prefix: str = "") -> dict[str, str]:
    """Route name -> route, for every route of the URL configuration but the admin's, i18n and static."""
    found = {}
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            found.update(discovered_routes(entry.url_patterns, route))
        elif isinstance(entry, URLPattern):
            assert entry.name, f"/{route} has no name: the access table is keyed by route name"
            found[entry.name] = "/" + route
    return found


# --- the world: two users with data that would show, and user A's keys ---------------------------------

MARKERS = {
    "a": ("ann-matrix", "sess-ann-4f7c", "model-ann-x1", "req-ann-93b1", "key-ann-k9", "7.77"),
    "b": ("ben-matrix", "sess-ben-8d2e", "model-ben-y2", "req-ben-57c4", "key-ben-q3", "3.31"),
}


@dataclass
class World:
    users: dict[str, User]
    secrets: dict[str, str]
    objects: dict[str, int]


@pytest.fixture
def world(make_user, make_key, make_request_row) -> World:
    admin = make_user("root-matrix", role=User.Role.ADMIN)
    people = {"a": make_user(MARKERS["a"][0]), "b": make_user(MARKERS["b"][0])}
    rows = {}
    for who, user in people.items():
        _name, session, model, request_id, key_name, cost = MARKERS[who]
        key = make_key(user, key_name).key
        rows[who] = make_request_row(
            user=user, key_id=key.pk, session_id=session, model=model, original_model=model, request_id=request_id,
            cost=Decimal(cost), created_at=datetime.now(UTC) - timedelta(minutes=1),
        )  # fmt: skip
    ann = people["a"]
    secrets = {
        "ingest_key": make_key(ann, "ingest-only", scope_read=False).secret,
        "read_key": make_key(ann, "read-only", scope_ingest=False).secret,
        "disabled_key": make_key(ann, "disabled", enabled=False).secret,
        "expired_key": make_key(ann, "expired", expires_at=timezone.now() - timedelta(days=1)).secret,
    }
    objects = {
        "user_a": ann.pk,
        "request_a": rows["a"].pk,
        "session_a": Session.objects.get(user=ann).pk,
        "toggle_key_a": make_key(ann, "toggle-me").key.pk,
    }
    return World(users={"admin": admin, "user_a": ann, "user_b": people["b"]}, secrets=secrets, objects=objects)


def _client(world: World, role: str) -> tuple[Client, dict]:
    client = Client(enforce_csrf_checks=True)
    headers = {}
    if role in SESSION_ROLES:
        client.force_login(world.users[role])
    elif role != "anonymous":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {world.secrets[role]}"
    return client, headers


def _csrf_token(client: Client) -> str:
    """What a browser holds after opening the form: the CSRF cookie, and the token to post with it."""
    secret = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    return secret


def _call(client: Client, headers: dict, access: Access, url: str, *, csrf: bool):
    query = {name: timezone.localtime().strftime("%Y-%m") if value == "this" else value
             for name, value in access.query.items()}  # fmt: skip
    if access.method == "get":
        return client.get(url, query, **headers)
    if url.startswith("/api/"):
        body = access.body
        if body == [NATIVE_RECORD]:
            body = [{**NATIVE_RECORD, "created_at": timezone.now().isoformat()}]
        content_type = "application/x-ndjson" if isinstance(body, str) else "application/json"
        data = body if isinstance(body, str) else json.dumps(body)
        suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
        return client.post(url + suffix, data=data, content_type=content_type, **headers)
    data = {"csrfmiddlewaretoken": _csrf_token(client)} if csrf else {}
    return client.post(url, data, **headers)


def _text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8-sig", errors="replace")


def test_every_route_has_an_entry():
    missing = sorted(set(discovered_routes()) - set(TABLE))
    assert missing == [], f"routes with no entry in the access table (decide who may open them): {missing}"
    stale = sorted(set(TABLE) - set(discovered_routes()))
    assert stale == [], f"entries for routes that no longer exist: {stale}"


def test_access_matrix(world):
    routes = discovered_routes()
    wrong, leaks, seen = [], [], {"a": "", "b": "", "admin": ""}
    for name, route in sorted(routes.items()):
        access = TABLE[name]
        url = route.replace("<int:pk>", str(world.objects[access.object])) if access.object else route
        for role in ROLES:
            client, headers = _client(world, role)
            if access.method == "post" and not url.startswith("/api/"):
                # A session-authenticated form refuses a POST without the CSRF token, whoever sends it.
                refused = _call(client, headers, access, url, csrf=False)
                if refused.status_code != 403:
                    wrong.append(f"{name} {role} without CSRF token: {refused.status_code}, expected 403")
            response = _call(client, headers, access, url, csrf=True)
            expected = access.statuses[role]
            if response.status_code != expected:
                wrong.append(f"{name} {url} {role}: {response.status_code}, expected {expected}")
                continue
            if expected == 302 and role not in SESSION_ROLES and name not in ("logout",):
                assert response["Location"].startswith("/login/"), (name, role, response["Location"])
            if access.method != "get" or response.status_code != 200:
                continue
            text = _text(response)
            reader = READS_AS.get(role, "admin" if role == "admin" else None)
            if reader in ("a", "b"):
                other = "b" if reader == "a" else "a"
                leaks += [f"{name} {role}: {marker}" for marker in MARKERS[other] if marker in text]
            if reader is not None:
                seen[reader] += text
    assert not wrong, "\n" + "\n".join(wrong)
    assert not leaks, "\n" + "\n".join(leaks)
    # The markers would show: each user's answers carry their own, the admin's everybody's.
    for who in ("a", "b"):
        assert [marker for marker in MARKERS[who] if marker not in seen[who]] == []
        assert [marker for marker in MARKERS[who] if marker not in seen["admin"]] == []
