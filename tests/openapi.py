"""Every API answer a test receives is checked against the OpenAPI document (as Zulip does).

The ``client`` fixture (tests/conftest.py) is a ``SchemaCheckedClient``: a JSON answer from
``/api/`` whose status the document lists must match the documented schema, so the document
cannot drift from what the API really says.
"""

from __future__ import annotations

import re
from functools import cache

import jsonschema
from django.test import Client


@cache
def _document() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _json_schema(node):
    """OpenAPI 3.0's ``nullable`` as JSON Schema understands it."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@cache
def _operations() -> list[tuple[re.Pattern, dict]]:
    found = []
    for path, item in _document()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        found.append((pattern, item))
    return found


@cache
def _components() -> dict:
    return _json_schema(_document().get("components", {}))


def documented_schema(method: str, path: str, status: int) -> dict | None:
    """The JSON schema the document gives for this answer; None when it lists no such answer."""
    for pattern, item in _operations():
        if pattern.match(path) and method.lower() in item:
            answer = item[method.lower()].get("responses", {}).get(str(status))
            content = (answer or {}).get("content", {})
            schema = (content.get("application/json") or {}).get("schema")
            return None if schema is None else {**_json_schema(schema), "components": _components()}
    return None


def check_response(method: str, path: str, response) -> None:
    if not path.startswith("/api/") or not response.get("Content-Type", "").startswith("application/json"):
        return
    schema = documented_schema(method, path, response.status_code)
    if schema is not None:
        jsonschema.validate(response.json(), schema)


class SchemaCheckedClient(Client):
    def generic(self, method, path, *args, **kwargs):
        response = super().generic(method, path, *args, **kwargs)
        check_response(method, path.split("?")[0], response)
        return response
