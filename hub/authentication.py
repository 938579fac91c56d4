"""API-key authentication for the REST API (``Authorization: Bearer <key>``)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from hub.models import ApiKey
from hub.services import api_key_authenticate, api_key_touch


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
        key = api_key_authenticate(secret)
        if key is None:
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
