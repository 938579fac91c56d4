"""The OpenAPI document's shared answers: every error the framework gives is documented.

DRF answers 401 when a call carries no usable credentials, 403 when a key lacks the scope a
view needs, 404 for an object the caller may not see (the same as a missing one), and 429 to a
throttled call or to an address that sent too many unknown keys this minute; those
answers come from the framework, not from the views, so they are added here for every
operation they can happen on, with the one error shape DRF gives them (``{"detail": …}``).
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated

from hub.authentication import ApiKeyAuthentication

#: what DRF answers for a refused call: 401, 403, 404, and the ingest API's unreadable bodies
ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
#: what a refused parameter answers (400): each parameter named, with the reasons it was refused
PARAMETER_ERRORS = {
    "type": "object",
    "description": "Each refused parameter with the reasons it was refused.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


class HubAutoSchema(AutoSchema):
    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body is not None:
            # Every write of this API reads its body (records, a file, an OTLP export): one sent
            # without a body is refused with 400, so the body is required, whatever its schema.
            body["required"] = True
        return body

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        for parameter in (operation or {}).get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("required"):
                # An empty value is the same as none (a form's blank field, `?start=`): say so.
                parameter["allowEmptyValue"] = True
        return operation

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in self._framework_errors():
            if code not in responses:
                responses[code] = self._get_response_for_code(ERROR, code, media_types=["application/json"])
                responses[code]["description"] = description
        return responses

    def _framework_errors(self) -> list[tuple[str, str]]:
        errors = []
        if any(isinstance(permission, IsAuthenticated) for permission in self.view.get_permissions()):
            errors.append(("401", "No credentials, or an unknown, disabled or expired key."))
        if getattr(self.view, "required_scope", None):
            errors.append(("403", f"The key lacks the '{self.view.required_scope}' scope."))
        if self.view.throttle_classes or self._takes_keys():
            # Throttled calls, and any call from an address that sent too many unknown keys this minute.
            errors.append(("429", "Too many calls; the Retry-After header says when to try again."))
        if "{" in self.path:
            errors.append(("404", "No such object, or one the caller may not see."))
        return errors

    def _takes_keys(self) -> bool:
        return any(isinstance(authenticator, ApiKeyAuthentication) for authenticator in self.view.get_authenticators())
