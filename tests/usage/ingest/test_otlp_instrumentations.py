"""What published instrumentations put on their spans, read the way the hub's token convention,
status, stream and provider columns need it. Attribute names and values are those seen from the
real libraries (tests/usage/otel runs them end to end)."""

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from usage.ingest.canonical import RecordError
from usage.ingest.otlp import RESPONSE_ID_WINDOW, parse_otlp_json, parse_otlp_protobuf, provider_name

START = 1_700_000_000_000_000_000


def value(item) -> dict:
    if isinstance(item, bool):
        return {"boolValue": item}
    if isinstance(item, int):
        return {"intValue": str(item)}
    if isinstance(item, float):
        return {"doubleValue": item}
    return {"stringValue": item}


def span(*, events=(), status=None, trace="11" * 16, start=START, **attributes) -> dict:
    return {
        "traceId": trace,
        "spanId": "22" * 8,
        "name": "chat",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 1_500_000_000),
        "attributes": [{"key": key, "value": value(item)} for key, item in attributes.items()],
        "events": [{"name": name, "timeUnixNano": str(at), "attributes": attrs} for name, at, attrs in events],
        "status": status or {},
    }


def export(*spans) -> dict:
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": list(spans)}]}]}


def one(**kwargs):
    [record] = parse_otlp_json(export(span(**kwargs)))
    return record


def model(**attributes):
    return {"gen_ai.request.model": "claude-sonnet-4-5", **attributes}


# --- time to first token and streams ---------------------------------------------------------


def test_time_to_first_chunk_in_seconds_becomes_ttft_in_milliseconds():
    record = one(**model(**{"gen_ai.request.stream": True, "gen_ai.response.time_to_first_chunk": 0.19557}))

    assert (record.is_stream, record.ttft_ms) == (True, 196)


@pytest.mark.parametrize("event", ["gen_ai.content.completion.chunk", "llm.content.completion.chunk"])
def test_the_first_chunk_event_gives_ttft_and_marks_a_stream(event):
    chunks = [(event, START + 250_000_000, []), (event, START + 180_000_000, []), ("other", START + 1, [])]

    record = one(events=chunks, **model())

    assert (record.is_stream, record.ttft_ms) == (True, 180)


@pytest.mark.parametrize("name", ["gen_ai.request.stream", "gen_ai.is_streaming", "llm.is_streaming"])
def test_every_spelling_of_the_stream_flag_is_read(name):
    assert one(**model(**{name: True})).is_stream is True
    assert one(**model(**{name: False})).is_stream is False


@pytest.mark.parametrize("bad", ["soon", -1.0, True])
def test_a_time_to_first_chunk_that_is_not_seconds_is_refused_by_name(bad):
    [error] = parse_otlp_json(export(span(**model(**{"gen_ai.response.time_to_first_chunk": bad}))))

    assert isinstance(error, RecordError)
    assert error.field.endswith("gen_ai.response.time_to_first_chunk")


def test_a_span_without_stream_signs_is_not_a_stream_and_has_no_ttft():
    record = one(**model())

    assert (record.is_stream, record.ttft_ms) == (False, None)


# --- cache writes ----------------------------------------------------------------------------


def test_the_anthropic_sdks_cache_write_attribute_and_ttl_split_are_read():
    # The anthropic SDK's own tracing: input_tokens counts the cache, cache writes as cache_write.
    record = one(
        **model(
            **{
                "gen_ai.usage.input_tokens": 4100,
                "gen_ai.usage.cache_write.input_tokens": 2000,
                "gen_ai.usage.cache_read.input_tokens": 1800,
                "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 1500,
                "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 500,
                "gen_ai.usage.output_tokens": 120,
            }
        )
    )

    assert (record.input_tokens, record.cache_creation_tokens, record.cache_read_tokens) == (300, 2000, 1800)
    assert (record.cache_creation_5m_tokens, record.cache_creation_1h_tokens) == (1500, 500)
    assert record.total_tokens == 4100 + 120


def test_a_ttl_split_without_a_total_gives_the_total():
    record = one(
        **model(
            **{
                "gen_ai.usage.input_tokens": 2300,
                "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 1500,
                "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 500,
            }
        )
    )

    assert (record.input_tokens, record.cache_creation_tokens) == (300, 2000)


# --- statuses of failures --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error_type", "status"),
    [
        ("<class 'openai.RateLimitError'>", 429),  # opentelemetry-instrumentation-openai-v2
        ("RateLimitError", 429),  # Traceloop
        ("openai.RateLimitError", 429),
        ("rate_limit_error", 429),  # Anthropic's error type (the anthropic SDK's tracing)
        ("rate_limit_exceeded", 429),  # OpenAI's error code
        ("RESOURCE_EXHAUSTED", 429),  # Google
        ("insufficient_quota", 429),
        ("AuthenticationError", 401),
        ("permission_error", 403),
        ("NotFoundError", 404),
        ("invalid_request_error", 400),
        ("request_too_large", 413),
        ("overloaded_error", 529),
        ("api_error", 500),
        ("404", 404),
        ("SomethingElse", 500),
    ],
)
def test_a_failure_without_an_http_status_takes_it_from_its_error_type(error_type, status):
    record = one(status={"code": 2}, **model(**{"error.type": error_type}))

    assert record.status_code == status
    assert record.error_message.startswith(error_type.removeprefix("<class '").removesuffix("'>"))


def test_a_failure_named_only_by_its_status_message_takes_the_code_from_it():
    # Traceloop's older releases: no error.type, the SDK's exception text as the status message.
    record = one(status={"code": 2, "message": "Error code: 429 - Rate limit reached for requests"}, **model())

    assert record.status_code == 429
    assert record.error_message == "Error code: 429 - Rate limit reached for requests"


def test_a_failure_named_only_by_an_exception_event_takes_its_type():
    exception = [{"key": "exception.type", "value": {"stringValue": "anthropic.RateLimitError"}}]

    record = one(status={"code": 2}, events=[("exception", START + 5, exception)], **model())

    assert record.status_code == 429


def test_the_http_status_of_the_span_wins_over_its_error_type():
    record = one(**model(**{"http.response.status_code": 503, "error.type": "rate_limit_error"}))

    assert record.status_code == 503


# --- providers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("OpenAI", "openai"),
        ("openai", "openai"),
        ("Anthropic", "anthropic"),
        ("aws.bedrock", "aws.bedrock"),
        ("AWS Bedrock", "aws.bedrock"),
        ("gcp.vertex_ai", "gcp.vertex_ai"),
        ("vertex_ai", "gcp.vertex_ai"),
        ("az.ai.openai", "azure.ai.openai"),
        ("az.ai.inference", "azure.ai.inference"),
        ("MistralAI", "mistral_ai"),
        ("xai", "x_ai"),
        ("Acme Cloud", "acme cloud"),
    ],
)
def test_provider_names_are_spelled_one_way(sent, stored):
    assert provider_name(sent) == stored


def test_the_old_gen_ai_system_is_normalised_too():
    record = one(**model(**{"gen_ai.system": "Anthropic"}))

    assert (record.provider_name, record.provider_type) == ("anthropic", "claude")


# --- the provider's response id names the request -------------------------------------------


def test_a_span_with_a_response_id_is_named_by_it_and_keeps_its_trace():
    record = one(**model(**{"gen_ai.response.id": "msg_01XFDUDYJgAACzvnptvVoYEL"}))

    assert record.request_id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert record.same_request_within == RESPONSE_ID_WINDOW
    assert (record.attributes["otel.trace_id"], record.attributes["otel.span_id"]) == ("11" * 16, "22" * 8)


def test_a_span_without_a_usable_response_id_is_named_by_its_trace_and_span():
    assert one(**model()).request_id == f"{'11' * 16}-{'22' * 8}"
    for weak_or_too_long in ("chatcmpl-123", "x" * 129):
        record = one(**model(**{"gen_ai.response.id": weak_or_too_long}))
        assert (record.request_id, record.same_request_within) == (f"{'11' * 16}-{'22' * 8}", None)


# --- protobuf carries events too -------------------------------------------------------------


def test_protobuf_spans_bring_their_events():
    request = ExportTraceServiceRequest()
    out = request.resource_spans.add().scope_spans.add().spans.add()
    out.trace_id, out.span_id = bytes.fromhex("11" * 16), bytes.fromhex("22" * 8)
    out.start_time_unix_nano, out.end_time_unix_nano = START, START + 10**9
    attribute = out.attributes.add()
    attribute.key, attribute.value.string_value = "gen_ai.request.model", "gpt-4o"
    event = out.events.add()
    event.name, event.time_unix_nano = "gen_ai.content.completion.chunk", START + 42_000_000

    [record] = parse_otlp_protobuf(request.SerializeToString())

    assert (record.is_stream, record.ttft_ms) == (True, 42)
