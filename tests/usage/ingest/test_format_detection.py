import json

import pytest

from usage.ingest.canonical import RecordError
from usage.ingest.detect import detect_format, parse_record, session_from_headers

from .sample_files import envelope, load_json, load_text


def first_higress_line() -> dict:
    return json.loads(load_text("higress/access.log.jsonl").splitlines()[0])


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: load_json("native/full_record.json"), "native"),
        (first_higress_line, "higress"),
        (lambda: load_json("otlp/traces.json"), "otlp"),
        (
            lambda: json.loads(load_text("openclaw/3f9a1c2e-7b4d-4e8f-9a0b-1c2d3e4f5a6b.jsonl").splitlines()[0]),
            "openclaw",
        ),
        (lambda: load_json("openai/chat_completion.json"), "openai"),
        (lambda: load_json("openai/responses_response.json"), "openai"),
        (lambda: load_json("openai/error_response.json"), "openai"),
        (lambda: envelope("openai/chat_stream_request.json", "openai/chat_stream_usage_last.sse"), "openai"),
        (lambda: envelope("openai/responses_stream_request.json", "openai/responses_stream.sse"), "openai"),
        (lambda: load_json("anthropic/message.json"), "anthropic"),
        (lambda: load_json("anthropic/error_response.json"), "anthropic"),
        (lambda: envelope("anthropic/stream_request.json", "anthropic/stream.sse"), "anthropic"),
        (lambda: load_json("gemini/generate_content.json"), "gemini"),
        (lambda: load_json("gemini/error_response.json"), "gemini"),
        (lambda: envelope("gemini/stream_request.json", "gemini/stream.sse"), "gemini"),
        (lambda: {"request": {}, "stream": load_text("gemini/stream_array.json")}, "gemini"),
    ],
)
def test_each_sample_is_detected_as_its_format(make, expected):
    assert detect_format(make()) == expected


def test_json_text_is_detected_like_the_object_it_holds():
    assert detect_format(json.dumps(first_higress_line())) == "higress"


@pytest.mark.parametrize("ambiguous", [{"request": {"messages": []}, "response": {"id": "x"}}, [1, 2], "not json"])
def test_a_shape_that_could_be_several_formats_is_not_guessed(ambiguous):
    assert detect_format(ambiguous) is None


def test_parse_record_uses_the_detected_adapter():
    record = parse_record(load_json("anthropic/message.json"), None)

    assert (record.provider_type, record.total_tokens) == ("claude", 15398)


def test_parse_record_uses_the_named_format_over_detection():
    record = parse_record(json.dumps(load_json("higress/ai_log_only.json")), "higress")

    assert record.model == "qwen-turbo"


def test_parse_record_refuses_a_record_whose_format_cannot_be_told():
    with pytest.raises(RecordError) as caught:
        parse_record({"request": {"messages": []}, "response": {"id": "x"}}, None)

    assert caught.value.field == "format"


@pytest.mark.parametrize("fmt", ["otlp", "openclaw", "langfuse"])
def test_parse_record_refuses_multi_record_and_unknown_formats(fmt):
    with pytest.raises(RecordError) as caught:
        parse_record({}, fmt)

    assert caught.value.field == "format"


def test_session_headers_match_case_insensitively_in_higress_order():
    headers = {"X-Agent-Session": "generic", "X-Moltbot-Session-Key": "molt", "x-clawdbot-session-key": "claw"}

    assert session_from_headers(headers) == "claw"


def test_the_configured_session_header_wins():
    headers = {"x-openclaw-session-key": "openclaw", "X-Session-Id": "configured"}

    assert session_from_headers(headers, extra_header="x-session-id") == "configured"


def test_no_session_header_gives_an_empty_session():
    assert session_from_headers({"user-agent": "curl/8"}) == ""
    assert session_from_headers({}) == ""


def test_a_bare_higress_ai_log_object_is_recognised_by_its_singular_token_names():
    assert detect_format({"model": "qwen-turbo", "input_token": "10", "output_token": "69"}) == "higress"
    assert detect_format({"model": "m", "input_tokens": 10, "output_tokens": 5}) == "native"
