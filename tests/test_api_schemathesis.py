"""schemathesis against the OpenAPI document the hub serves: every operation, a bounded number of
generated calls each, every check schemathesis has (no 5xx, every status, content type, header
and body as documented, schema-violating calls refused, schema-valid ones accepted, auth not
ignored, other methods answered 405, ...), in process against the WSGI application.

Two answers are by design and not what the checks assume by default, so they are told so
(per operation, nothing is left out):

- A read's parameters refer to stored things and to each other (a key or provider id that must
  exist and be the caller's to name, ``end`` after ``start``, a custom period needing both, a
  bucket width fitting the window): OpenAPI cannot say so, so a schema-valid call may be refused
  with 400. ``positive_data_acceptance`` accepts that 400, and ``refusals_name_their_parameter``
  below holds it to what the hub promises: the documented shape, naming only parameters the
  call sent.
- An ingest batch is validated record by record (DESIGN decision 5): a record that breaks the
  documented record schema is rejected in a 200 answer that says which and why, and its
  neighbours are stored. ``negative_data_rejection`` accepts that 200 on the ingest operations,
  and ``rejected_records_are_reported`` checks that such an answer gives every rejected record
  its reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 20
INGEST_OPERATIONS = ["ingest_records", "ingest_openclaw", "otlp_traces", "otlp_metrics", "otlp_logs"]
_DEFAULT_POSITIVE = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
_DEFAULT_NEGATIVE = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {"positive_data_acceptance": {"expected-statuses": [*_DEFAULT_POSITIVE, "400"]}},
        "operations": [
            {
                "include-operation-id": INGEST_OPERATIONS,
                "checks": {"negative_data_rejection": {"expected-statuses": [*_DEFAULT_NEGATIVE, "200"]}},
            }
        ],
    }
)

# The bodies the ingest API reads besides JSON: an OpenClaw JSONL file and an OTLP protobuf export.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")
schemathesis.serializer.alias("application/x-protobuf", "application/octet-stream")


@cache
def served_document() -> dict:
    """The document /api/v1/schema serves, made by the same generator and settings."""
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.renderers import JSONRenderer

    return json.loads(JSONRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(served_document(), config=CONFIG)
schema.app = WSGIHandler()


@schemathesis.check
def refusals_name_their_parameter(ctx, response, case) -> bool | None:
    """A read's 400 names the parameters it refused (one sent, or one missing beside it), as documented."""
    if response.request.method != "GET" or response.status_code != 400:
        return None
    refused = set(response.json())
    documented = {parameter.name for parameter in case.operation.query}
    assert refused and refused <= documented, f"the 400 names {sorted(refused - documented)}, not parameters"
    return True


@schemathesis.check
def rejected_records_are_reported(ctx, response, case) -> bool | None:
    """An ingest answer accounts for what it did not store: every rejected record has its reason."""
    if case.operation.definition.raw.get("operationId") not in ("ingest_records", "ingest_openclaw"):
        return None
    if response.request.method != "POST" or response.status_code != 200:
        return None
    answer = response.json()
    assert "errors" in answer and len({e["index"] for e in answer["errors"]}) == answer["rejected"], answer
    return True


@pytest.fixture
def app_in_test_transaction():
    """Django's test client keeps the test's transaction across requests by not closing the
    connection at the start and end of each; a WSGI call goes through the same signals."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def secret(admin_user, alice, make_key, make_request_row, long_retention) -> str:
    """An admin's key with both scopes, and requests of two users in the lists it reads."""
    key = make_key(admin_user, "schemathesis").key
    now = datetime.now(UTC)
    for minutes, user in enumerate((admin_user, alice, admin_user)):
        make_request_row(
            user=user, key_id=key.pk if user == admin_user else None, session_id=f"s-{user.pk}",
            created_at=now - timedelta(minutes=minutes), cost=Decimal("0.0123"), duration_ms=900, ttft_ms=120,
            error_message="" if minutes else "upstream timeout", status_code=200 if minutes else 504,
        )  # fmt: skip
    return make_key(admin_user, "schemathesis-secret").secret


def test_the_document_tested_is_the_one_served(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert json.loads(response.content) == served_document()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same calls on every run: a failure here is reproducible
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_api(case, secret, app_in_test_transaction):
    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"})
