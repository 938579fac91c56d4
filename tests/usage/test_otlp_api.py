"""The OTLP endpoints through the real HTTP stack: one row per provider response however many
tracers report it, and metrics and logs answered without being stored."""

import json
import time

import pytest
from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from tests.usage.ingest.test_otlp_instrumentations import export, span
from usage.models import MessageRequest

pytestmark = pytest.mark.django_db
TRACES = "/api/v1/otlp/v1/traces"


@pytest.fixture
def alice_key(alice, make_key):
    return make_key(alice, "app")


def post(client, key, body, path=TRACES, content_type="application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(path, data=data, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {key.secret}")


def call_span(*, trace: str, start: int, **attributes) -> dict:
    """One model call as a tracer reports it; two tracers give two trace ids and start times."""
    return span(trace=trace, start=start, **{"gen_ai.request.model": "claude-sonnet-4-5", **attributes})


NOW = time.time_ns()
RESPONSE_ID = "msg_01XFDUDYJgAACzvnptvVoYEL"
SDK_SPAN = call_span(trace="aa" * 16, start=NOW + 1_000_000, **{
    "gen_ai.response.id": RESPONSE_ID, "gen_ai.provider.name": "anthropic", "gen_ai.usage.input_tokens": 4100,
    "gen_ai.usage.cache_write.input_tokens": 2000, "gen_ai.usage.cache_read.input_tokens": 1800,
    "gen_ai.usage.output_tokens": 120, "gen_ai.response.time_to_first_chunk": 0.2,
    "gen_ai.request.stream": True})  # fmt: skip
LIBRARY_SPAN = call_span(trace="bb" * 16, start=NOW, **{
    "gen_ai.response.id": RESPONSE_ID, "gen_ai.provider.name": "anthropic", "gen_ai.usage.input_tokens": 4100,
    "gen_ai.usage.cache_creation.input_tokens": 2000, "gen_ai.usage.cache_read.input_tokens": 1800,
    "gen_ai.usage.output_tokens": 121})  # fmt: skip


def test_two_tracers_of_one_call_in_one_export_store_one_row_the_first(client, alice_key):
    answer = post(client, alice_key, export(SDK_SPAN, LIBRARY_SPAN)).json()

    row = MessageRequest.objects.get()
    assert answer == {}  # nothing rejected
    assert (row.request_id, row.output_tokens, row.ttft_ms, row.is_stream) == (RESPONSE_ID, 120, 200, True)
    assert row.attributes["otel.trace_id"] == "aa" * 16


def test_two_tracers_of_one_call_in_two_exports_store_one_row_the_first(client, alice_key):
    post(client, alice_key, export(SDK_SPAN))
    post(client, alice_key, export(LIBRARY_SPAN))

    assert list(MessageRequest.objects.values_list("output_tokens", flat=True)) == [120]


def test_the_same_response_id_ten_minutes_apart_is_another_request(client, alice_key):
    later = call_span(trace="cc" * 16, start=NOW - 10 * 60 * 10**9, **{"gen_ai.response.id": RESPONSE_ID})
    post(client, alice_key, export(SDK_SPAN))
    post(client, alice_key, export(later))

    assert MessageRequest.objects.count() == 2


def test_the_same_response_id_of_another_owner_is_another_request(client, alice_key, bob, make_key):
    post(client, alice_key, export(SDK_SPAN))
    post(client, make_key(bob, "bobs-app"), export(LIBRARY_SPAN))

    assert sorted(MessageRequest.objects.values_list("user__username", flat=True)) == ["alice", "bob"]


def test_spans_without_a_response_id_stay_one_row_each(client, alice_key):
    failed = {"gen_ai.request.model": "claude-sonnet-4-5", "error.type": "rate_limit_error"}
    post(client, alice_key, export(span(trace="aa" * 16, start=NOW, **failed),
                                   span(trace="bb" * 16, start=NOW + 5, **failed)))  # fmt: skip

    assert list(MessageRequest.objects.values_list("status_code", flat=True)) == [429, 429]


def test_provider_spellings_of_one_provider_give_one_provider(client, admin_user, make_key):
    key = make_key(admin_user, "gateway")
    spans = [call_span(trace=f"{i:032x}", start=NOW + i, **{"gen_ai.system": name})
             for i, name in enumerate(["OpenAI", "openai", "Openai"], start=1)]  # fmt: skip

    post(client, key, export(*spans))

    assert set(MessageRequest.objects.values_list("provider__name", flat=True)) == {"openai"}


# --- metrics and logs ------------------------------------------------------------------------

METRICS = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
    {"name": "gen_ai.client.token.usage", "histogram": {"dataPoints": [{"count": "1"}, {"count": "2"}]}},
    {"name": "calls", "sum": {"dataPoints": [{"asInt": "3"}]}}]}]}]}  # fmt: skip
LOGS = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "hi"}}]}]}]}


@pytest.mark.parametrize(
    ("signal", "body", "field", "count"),
    [("metrics", METRICS, "rejectedDataPoints", 3), ("logs", LOGS, "rejectedLogRecords", 1)],
)
def test_metrics_and_logs_are_answered_with_what_was_not_stored(client, alice_key, signal, body, field, count):
    response = post(client, alice_key, body, path=f"/api/v1/otlp/v1/{signal}")

    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial[field] == count
    assert "traces only" in partial["errorMessage"]
    assert f"OTEL_{signal.upper()}_EXPORTER=none" in partial["errorMessage"]
    assert MessageRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("signal", "body", "request_class", "reply_class", "field", "count"),
    [
        ("metrics", METRICS, ExportMetricsServiceRequest, ExportMetricsServiceResponse, "rejected_data_points", 3),
        ("logs", LOGS, ExportLogsServiceRequest, ExportLogsServiceResponse, "rejected_log_records", 1),
    ],
)
def test_protobuf_metrics_and_logs_get_an_otlp_protobuf_answer(
    client, alice_key, signal, body, request_class, reply_class, field, count
):
    data = ParseDict(body, request_class()).SerializeToString()

    response = post(client, alice_key, data, path=f"/api/v1/otlp/v1/{signal}", content_type="application/x-protobuf")

    assert response.status_code == 200 and response["Content-Type"] == "application/x-protobuf"
    reply = reply_class()
    reply.ParseFromString(response.content)
    assert getattr(reply.partial_success, field) == count and reply.partial_success.error_message


@pytest.mark.parametrize("signal", ["metrics", "logs"])
@pytest.mark.parametrize(
    ("data", "content_type"),
    [(b"\xff\xfe not protobuf", "application/x-protobuf"), (b"{not json", "application/json"),
     (b"[1, 2]", "application/json"), (b"\xff\xfe", "application/json")],
)  # fmt: skip
def test_an_unreadable_metrics_or_logs_body_is_a_400_saying_so(client, alice_key, signal, data, content_type):
    response = post(client, alice_key, data, path=f"/api/v1/otlp/v1/{signal}", content_type=content_type)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"not an OTLP {signal} export")


@pytest.mark.parametrize("signal", ["metrics", "logs"])
def test_metrics_and_logs_need_an_ingest_key(client, signal):
    assert client.post(f"/api/v1/otlp/v1/{signal}", data="{}", content_type="application/json").status_code == 401


def test_the_openapi_schema_documents_the_metrics_and_logs_answers(client, alice):
    client.force_login(alice)
    schema = client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    for signal in ("metrics", "logs"):
        operation = schema["paths"][f"/api/v1/otlp/v1/{signal}"]["post"]
        assert "not stor" in operation["description"] and "200" in operation["responses"]


@pytest.mark.parametrize("path", [TRACES, "/api/v1/otlp/v1/metrics", "/api/v1/otlp/v1/logs"])
def test_a_json_body_nested_too_deep_is_a_400_not_a_500(client, alice_key, path):
    response = post(client, alice_key, b"[" * 200_000 + b"]" * 200_000, path=path)

    assert response.status_code == 400
