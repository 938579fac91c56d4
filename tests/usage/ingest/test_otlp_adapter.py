import base64
import json
from datetime import UTC, datetime

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from usage.ingest.canonical import CanonicalRecord, RecordError
from usage.ingest.otlp import parse_otlp_json, parse_otlp_protobuf

from .sample_files import load_json

CLAUDE_SPAN = "5b8efff798038103d269b633813fc60c-00f067aa0ba902b7"
OPENAI_SPAN = "5b8efff798038103d269b633813fc60c-a2fb4a1d1a96d312"
GEMINI_SPAN = "0af7651916cd43dd8448eb211c80319c-c3e1f2a4b5d6e7f8"


def by_id(results) -> dict[str, CanonicalRecord]:
    assert all(isinstance(item, CanonicalRecord) for item in results)
    # Keyed by span: a span's request_id is its provider response id when it carries one.
    return {_span_key(record): record for record in results}


def _span_key(record: CanonicalRecord) -> str:
    if "otel.span_id" in record.attributes:
        return f"{record.attributes['otel.trace_id']}-{record.attributes['otel.span_id']}"
    return record.request_id


def sample_records() -> dict[str, CanonicalRecord]:
    return by_id(parse_otlp_json(load_json("otlp/traces.json")))


def span_attributes(request_id: str) -> dict:
    trace_id, span_id = request_id.split("-")
    for resource_span in load_json("otlp/traces.json")["resourceSpans"]:
        for span in resource_span["scopeSpans"][0]["spans"]:
            if (span["traceId"], span["spanId"]) == (trace_id, span_id):
                return {item["key"]: next(iter(item["value"].values())) for item in span["attributes"]}
    raise KeyError(request_id)


def single_span(**attributes) -> dict:
    values = [
        {"key": key, "value": {"stringValue": value} if isinstance(value, str) else {"intValue": str(value)}}
        for key, value in attributes.items()
    ]
    span = {
        "traceId": "11" * 16,
        "spanId": "22" * 8,
        "name": "chat",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001500000000",
        "attributes": values,
    }
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [span]}]}]}


def test_only_model_call_spans_become_records():
    assert sorted(sample_records()) == sorted([CLAUDE_SPAN, OPENAI_SPAN, GEMINI_SPAN])


@pytest.mark.parametrize("request_id", [CLAUDE_SPAN, OPENAI_SPAN, GEMINI_SPAN])
def test_the_canonical_total_equals_input_plus_output_tokens_of_the_span(request_id):
    attributes = span_attributes(request_id)
    reported_in = attributes.get("gen_ai.usage.input_tokens", attributes.get("gen_ai.usage.prompt_tokens"))
    reported_out = attributes.get("gen_ai.usage.output_tokens", attributes.get("gen_ai.usage.completion_tokens"))

    assert sample_records()[request_id].total_tokens == int(reported_in) + int(reported_out)


def test_cache_reads_and_writes_are_taken_out_of_input_tokens():
    record = sample_records()[CLAUDE_SPAN]

    assert (record.input_tokens, record.cache_read_tokens, record.cache_creation_tokens) == (400, 10000, 100)
    assert record.output_tokens == 250


def test_reasoning_tokens_stay_inside_output_tokens():
    record = sample_records()[GEMINI_SPAN]

    assert (record.input_tokens, record.cache_read_tokens) == (5230 - 4096, 4096)
    assert (record.output_tokens, record.reasoning_tokens) == (792, 612)


def test_a_span_maps_models_provider_times_and_content():
    record = sample_records()[CLAUDE_SPAN]

    assert (record.model, record.original_model) == ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5")
    assert (record.provider_name, record.provider_type) == ("anthropic", "claude")
    assert record.created_at == datetime(2025, 6, 3, 10, 3, 20, 100000, tzinfo=UTC)
    assert record.duration_ms == 6250
    assert record.status_code == 200
    assert record.session_id == "conv_5f1b2c"
    assert record.messages_count == 1
    assert record.attributes["question"] == "My order #4411 never arrived."
    assert record.attributes["answer"] == "Let me look that order up."
    assert json.loads(record.attributes["tool_calls"][0]["function"]["arguments"]) == {"order_id": "4411"}
    assert record.attributes["service.name"] == "support-bot"


def test_an_error_span_gives_the_error_message_and_its_http_status():
    record = sample_records()[OPENAI_SPAN]

    assert record.status_code == 429
    assert record.error_message.startswith("RateLimitError: Rate limit reached for gpt-4o")


def test_an_error_span_without_an_http_status_gives_500():
    body = single_span(**{"gen_ai.request.model": "gpt-4o", "error.type": "timeout"})

    assert parse_otlp_json(body)[0].status_code == 500


def test_deprecated_attribute_names_are_read():
    body = single_span(
        **{
            "gen_ai.system": "deepseek",
            "gen_ai.request.model": "deepseek-chat",
            "gen_ai.usage.prompt_tokens": 90,
            "gen_ai.usage.completion_tokens": 10,
        }
    )

    record = parse_otlp_json(body)[0]

    assert (record.provider_type, record.input_tokens, record.output_tokens) == ("deepseek", 90, 10)


def test_the_session_can_come_from_a_recorded_request_header():
    record = sample_records()[GEMINI_SPAN]

    assert record.session_id == "agent:main:cli"
    assert record.user_agent.startswith("google-genai-sdk/1.20.0")
    assert record.endpoint == "/v1beta/models/gemini-2.5-flash:generateContent"


def test_cache_counts_larger_than_input_tokens_are_read_as_reported_beside_it():
    body = single_span(
        **{
            "gen_ai.request.model": "claude-haiku-4-5",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.cache_read.input_tokens": 3000,
            "gen_ai.usage.output_tokens": 5,
        }
    )

    record = parse_otlp_json(body)[0]

    assert (record.input_tokens, record.cache_read_tokens, record.total_tokens) == (12, 3000, 3017)


def test_base64_ids_written_by_some_exporters_are_accepted():
    body = single_span(**{"gen_ai.request.model": "gpt-4o"})
    span = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["traceId"] = base64.b64encode(bytes.fromhex("11" * 16)).decode()
    span["spanId"] = base64.b64encode(bytes.fromhex("22" * 8)).decode()

    assert parse_otlp_json(body)[0].request_id == f"{'11' * 16}-{'22' * 8}"


def test_a_span_that_cannot_be_read_becomes_an_error_naming_where_it_is():
    body = single_span(**{"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "lots"})

    [error] = parse_otlp_json(body)

    assert isinstance(error, RecordError)
    assert error.field == "resourceSpans[0].scopeSpans[0].spans[0].gen_ai.usage.input_tokens"


def test_an_export_without_spans_gives_no_records():
    assert parse_otlp_json({"resourceSpans": []}) == []


# --- protobuf ---------------------------------------------------------------------------------


def any_value(value: dict) -> AnyValue:
    result = AnyValue()
    if "stringValue" in value:
        result.string_value = value["stringValue"]
    elif "intValue" in value:
        result.int_value = int(value["intValue"])
    elif "arrayValue" in value:
        result.array_value.values.extend(any_value(item) for item in value["arrayValue"]["values"])
    return result


def key_values(items: list) -> list[KeyValue]:
    return [KeyValue(key=item["key"], value=any_value(item["value"])) for item in items]


def as_protobuf(body: dict) -> bytes:
    request = ExportTraceServiceRequest()
    for resource_span in body["resourceSpans"]:
        out_resource = request.resource_spans.add()
        out_resource.resource.attributes.extend(key_values(resource_span["resource"]["attributes"]))
        for scope_span in resource_span["scopeSpans"]:
            out_scope = out_resource.scope_spans.add()
            out_scope.scope.name = scope_span["scope"]["name"]
            for span in scope_span["spans"]:
                out = out_scope.spans.add()
                out.trace_id = bytes.fromhex(span["traceId"])
                out.span_id = bytes.fromhex(span["spanId"])
                out.name = span["name"]
                out.kind = span["kind"]
                out.start_time_unix_nano = int(span["startTimeUnixNano"])
                out.end_time_unix_nano = int(span["endTimeUnixNano"])
                out.attributes.extend(key_values(span["attributes"]))
                out.status.code = span["status"].get("code", 0)
                out.status.message = span["status"].get("message", "")
    return request.SerializeToString()


def test_a_protobuf_export_gives_the_same_records_as_its_json_form():
    body = load_json("otlp/traces.json")

    assert by_id(parse_otlp_protobuf(as_protobuf(body))) == by_id(parse_otlp_json(body))


def test_bytes_that_are_not_an_otlp_export_are_rejected():
    with pytest.raises(RecordError) as caught:
        parse_otlp_protobuf(b"\xff\xff\xff not protobuf")

    assert caught.value.field == "body"


def test_an_http_error_status_alone_marks_the_span_failed():
    body = single_span(**{"gen_ai.request.model": "gpt-4o", "http.response.status_code": 503})

    record = parse_otlp_json(body)[0]

    assert (record.status_code, record.error_message) == (503, "HTTP 503")
