"""API-key authentication for the REST API (``Authorization: Bearer <key>``)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from hub.models import ApiKey
from hub.services import api_key_authenticate, api_key_touch


def _minute_key(address: str) -> str:
    return f"invalid-api-keys:{address}:{int(time.time() // 60)}"


def _seconds_left_in_minute() -> int:
    return 60 - int(time.time()) % 60


def invalid_key_count(address: str) -> int:
    """Count one invalid key presented from ``address`` this minute (every web process shares it)."""
    key = _minute_key(address)
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key)
    except ValueError:  # expired meanwhile, or no cache: this one opens the count
        cache.set(key, 1, timeout=120)
        return 1


def invalid_keys_exceeded(address: str) -> bool:
    """Whether ``address`` presented more invalid keys this minute than settings allow: a
    client guessing keys gets 429 until the minute is over, even with a right one."""
    return (cache.get(_minute_key(address)) or 0) >= settings.INVALID_API_KEYS_PER_MINUTE


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _sep, secret = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        secret = secret.strip()
        if not secret:
            raise exceptions.AuthenticationFailed(_("No API key after 'Bearer'."))
        address = request.META.get("REMOTE_ADDR", "")
        if invalid_keys_exceeded(address):
            raise exceptions.Throttled(
                wait=_seconds_left_in_minute(), detail=_("Too many invalid API keys from this address.")
            )
        key = api_key_authenticate(secret)
        if key is None:
            invalid_key_count(address)
            raise exceptions.AuthenticationFailed(_("Unknown API key."))
        if not key.enabled:
            raise exceptions.AuthenticationFailed(_("This API key is disabled."))
        if key.is_expired:
            raise exceptions.AuthenticationFailed(_("This API key has expired."))
        if not key.owner.is_active:
            raise exceptions.AuthenticationFailed(_("The owner of this API key is disabled."))
        api_key_touch(key=key)
        return key.owner, key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key of the hub (uhk_…), created on the API keys page or in the admin.",
        }


class HasScope(permissions.BasePermission):
    """Key-authenticated requests need the view's ``required_scope``; signed-in users have every scope."""

    message = "This API key lacks the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        scope = getattr(view, "required_scope", None)
        if scope is None or not isinstance(request.auth, ApiKey):
            return True
        if scope not in request.auth.scopes:
            self.message = _("This API key lacks the '%(scope)s' scope.") % {"scope": scope}
            return False
        return True


def metrics_access(request) -> int:
    """Whether a request may read /metrics: 200, or the status to answer (401 no or unknown
    credentials, 403 a key without the ``metrics`` scope or not owned by an admin). A bearer key
    with the scope, owned by an admin, is accepted; so is a client address in
    ``METRICS["ALLOWED_IPS"]`` (addresses, networks or host names, e.g. compose's ``prometheus``)."""
    from hub.services import api_key_authenticate, api_key_touch

    header = authentication.get_authorization_header(request).decode("latin-1")
    scheme, _sep, secret = header.partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        key = api_key_authenticate(secret.strip())
        if key is None or not key.is_usable:
            return 401
        if not key.scope_metrics or not key.owner.is_admin:
            return 403
        api_key_touch(key=key)
        return 200
    return 200 if address_allowed(request.META.get("REMOTE_ADDR", "")) else 401


_resolved: dict[str, tuple[float, set]] = {}
_RESOLVE_SECONDS = 60


def _addresses(name: str) -> set:
    """The addresses a host name resolves to, looked up at most once a minute."""
    import socket
    import time

    found = _resolved.get(name)
    if found and time.monotonic() - found[0] < _RESOLVE_SECONDS:
        return found[1]
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        addresses = set()
    _resolved[name] = (time.monotonic(), addresses)
    return addresses


def address_allowed(address: str) -> bool:
    import ipaddress

    from django.conf import settings

    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.METRICS["ALLOWED_IPS"]:
        try:
            if client in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            if address in _addresses(entry):  # not an address: a host name
                return True
    return False
