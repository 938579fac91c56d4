import json

import pytest

from usage.ingest._common import stream_events
from usage.ingest.anthropic import parse_anthropic

from .sample_files import envelope, load_json, load_text


def stream_record(sse: str = "anthropic/stream.sse"):
    return parse_anthropic(envelope("anthropic/stream_request.json", sse))


def anthropic_total(usage: dict) -> int:
    """Anthropic publishes no total: its four counts are disjoint, so their sum is the total."""
    return sum(
        usage.get(key, 0)
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
    )


def test_a_body_total_equals_the_sum_of_anthropics_disjoint_counts():
    sample = load_json("anthropic/message.json")

    assert parse_anthropic(sample).total_tokens == anthropic_total(sample["response"]["usage"])


def test_a_stream_total_equals_the_final_cumulative_usage_not_the_sum_of_events():
    final_usage = [
        data["usage"]
        for _, data in stream_events(load_text("anthropic/stream.sse"))
        if data.get("type") == "message_delta"
    ][-1]

    record = stream_record()

    assert record.total_tokens == anthropic_total(final_usage) == 472 + 1500 + 8000 + 219


def test_cache_reads_and_writes_are_taken_beside_input_tokens():
    record = parse_anthropic(load_json("anthropic/message.json"))

    assert (record.input_tokens, record.cache_read_tokens, record.cache_creation_tokens) == (2095, 10240, 2560)
    assert record.output_tokens == 503


def test_cache_creation_is_split_into_5_minute_and_1_hour_writes():
    record = parse_anthropic(load_json("anthropic/message.json"))

    assert (record.cache_creation_5m_tokens, record.cache_creation_1h_tokens) == (1536, 1024)


def test_message_delta_output_tokens_replace_the_message_start_count():
    record = stream_record()

    assert record.output_tokens == 219
    assert (record.input_tokens, record.cache_creation_tokens, record.cache_read_tokens) == (472, 1500, 8000)
    assert (record.cache_creation_5m_tokens, record.cache_creation_1h_tokens) == (0, 1500)


def test_a_stream_maps_model_id_and_stream_flag():
    record = stream_record()

    assert (record.model, record.original_model) == ("claude-opus-4-1-20250805", "claude-opus-4-1")
    assert record.request_id == "msg_014p7gG3wDgGV9EUtLvnow3U"
    assert record.is_stream is True
    assert record.provider_type == "claude"
    assert record.endpoint == "/v1/messages"
    assert record.status_code == 200


def test_tool_input_is_assembled_from_input_json_deltas():
    calls = stream_record().attributes["tool_calls"]

    assert len(calls) == 1
    assert calls[0]["id"] == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads(calls[0]["function"]["arguments"]) == {"location": "San Francisco, CA"}


def test_text_deltas_become_the_answer_and_thinking_deltas_the_reasoning():
    record = stream_record()

    assert record.attributes["answer"] == "Let me check today's weather first."
    assert record.attributes["reasoning"] == "Biking depends on rain and wind; I should fetch the forecast."


def test_a_body_keeps_text_thinking_and_tool_use_blocks():
    record = parse_anthropic(load_json("anthropic/message.json"))

    assert record.attributes["answer"] == "The gateway cannot reach the checkout pods. Check their readiness first."
    assert record.attributes["reasoning"].startswith("The error text points")
    assert json.loads(record.attributes["tool_calls"][0]["function"]["arguments"]) == {
        "service": "checkout",
        "namespace": "shop",
    }


def test_the_question_skips_user_messages_that_only_carry_tool_results():
    record = parse_anthropic(load_json("anthropic/message.json"))

    assert record.attributes["question"] == "The checkout service is returning 502s. What should I check first?"
    assert record.messages_count == 3


def test_envelope_timing_and_user_agent_header_are_kept():
    record = parse_anthropic(load_json("anthropic/message.json"))

    assert (record.duration_ms, record.ttft_ms) == (9340, 1210)
    assert record.user_agent == "claude-cli/1.0.31 (external, cli)"
    assert "x-api-key" not in record.headers


def test_an_error_event_mid_stream_gives_the_overloaded_status_and_keeps_the_partial_answer():
    record = stream_record("anthropic/stream_error.sse")

    assert record.status_code == 529
    assert record.error_message == "overloaded_error: Overloaded"
    assert record.attributes["answer"] == "Here is the"
    assert (record.input_tokens, record.output_tokens) == (1204, 1)


def test_an_error_body_keeps_the_captured_status_and_anthropics_request_id():
    record = parse_anthropic(load_json("anthropic/error_response.json"))

    assert record.status_code == 400
    assert record.error_message.startswith("invalid_request_error: messages: roles must alternate")
    assert record.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"cache_creation_input_tokens": 300}, (300, 0, 0)),
        ({"cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 50}}, (150, 100, 50)),
    ],
)
def test_cache_writes_without_a_complete_ttl_breakdown_stay_consistent(usage, expected):
    body = {"type": "message", "model": "claude-haiku-4-5", "content": [], "usage": {"input_tokens": 5, **usage}}

    record = parse_anthropic({"request": {}, "response": body})

    assert (record.cache_creation_tokens, record.cache_creation_5m_tokens, record.cache_creation_1h_tokens) == expected
