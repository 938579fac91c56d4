"""The OpenAPI document says what the API enforces."""

import pytest

from tests.openapi import _document
from usage.ingest._common import MAX_LENGTHS
from usage.ingest.canonical import RecordError
from usage.ingest.native import NATIVE_FIELDS, parse_native

pytestmark = pytest.mark.django_db


def test_the_native_record_schema_is_the_adapters_field_table():
    properties = _document()["components"]["schemas"]["NativeRecordRequest"]["properties"]
    assert set(properties) == set(NATIVE_FIELDS)
    for name, spec in NATIVE_FIELDS.items():
        if spec.attribute in MAX_LENGTHS:
            assert properties[name]["maxLength"] == MAX_LENGTHS[spec.attribute], name
    assert (properties["status_code"]["minimum"], properties["status_code"]["maximum"]) == (100, 599)
    assert "required" not in _document()["components"]["schemas"]["NativeRecordRequest"]  # every field is optional


@pytest.mark.parametrize("name", [name for name, spec in NATIVE_FIELDS.items() if spec.attribute in MAX_LENGTHS])
def test_a_string_one_past_its_documented_length_is_refused(name):
    limit = _document()["components"]["schemas"]["NativeRecordRequest"]["properties"][name]["maxLength"]
    parse_native({name: "x" * limit})
    with pytest.raises(RecordError) as refused:
        parse_native({name: "x" * (limit + 1)})
    assert refused.value.field == name


@pytest.mark.parametrize("path", ["/api/v1/requests", "/api/v1/requests/export.csv", "/api/v1/sessions"])
def test_the_user_and_key_filters_are_documented_as_the_names_or_ids_they_take(path, client, admin_user, make_key):
    """A client generated from the document must be able to send a user name or a key prefix."""
    parameters = {p["name"]: p for p in _document()["paths"][path]["get"]["parameters"]}
    for name in ("user", "key"):
        assert parameters[name]["schema"]["type"] == "string", name
        assert "id" in parameters[name]["description"], name
    key = make_key(owner=admin_user)
    answer = client.get(
        path, {"user": admin_user.username, "key": key.key.prefix}, HTTP_AUTHORIZATION=f"Bearer {key.secret}"
    )
    assert answer.status_code == 200, answer.content
