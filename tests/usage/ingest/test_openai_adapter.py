import json
from datetime import UTC, datetime

import pytest

from usage.ingest._common import stream_events
from usage.ingest.canonical import RecordError
from usage.ingest.openai import parse_openai

from .sample_files import envelope, load_json, load_text

STREAMS = {
    "usage in a final chunk without choices": ("openai/chat_stream_request.json", "openai/chat_stream_usage_last.sse"),
    "usage in a chunk that still has choices": (
        "openai/chat_stream_usage_with_choices_request.json",
        "openai/chat_stream_usage_with_choices.sse",
    ),
    "tool calls over many chunks": ("openai/chat_stream_tool_calls_request.json", "openai/chat_stream_tool_calls.sse"),
    "responses api events": ("openai/responses_stream_request.json", "openai/responses_stream.sse"),
}


def last_usage(sse_name: str) -> dict:
    """The provider's own usage object: the last one the stream carries."""
    usages = [
        data.get("usage") or data.get("response", {}).get("usage") for _, data in stream_events(load_text(sse_name))
    ]
    return [usage for usage in usages if usage][-1]


@pytest.mark.parametrize("name", ["openai/chat_completion.json", "openai/responses_response.json"])
def test_a_body_total_equals_the_providers_total_tokens(name):
    sample = load_json(name)

    record = parse_openai(sample)

    assert record.total_tokens == sample["response"]["usage"]["total_tokens"]


@pytest.mark.parametrize("case", STREAMS)
def test_a_stream_total_equals_the_providers_total_tokens(case):
    request, sse = STREAMS[case]

    record = parse_openai(envelope(request, sse))

    assert record.total_tokens == last_usage(sse)["total_tokens"]
    assert record.is_stream is True


def test_cached_tokens_are_taken_out_of_prompt_tokens():
    record = parse_openai(load_json("openai/chat_completion.json"))

    assert (record.input_tokens, record.cache_read_tokens, record.cache_creation_tokens) == (2006 - 1920, 1920, 0)


def test_reasoning_tokens_stay_inside_output_tokens():
    record = parse_openai(load_json("openai/chat_completion.json"))

    assert (record.output_tokens, record.reasoning_tokens) == (300, 192)


def test_a_body_maps_model_time_session_and_question():
    record = parse_openai(load_json("openai/chat_completion.json"))

    assert record.request_id == "req-7c1e2a90-openai-chat"
    assert (record.model, record.original_model) == ("o4-mini-2025-04-16", "o4-mini")
    assert record.created_at == datetime(2025, 6, 3, 8, 15, 30, 250000, tzinfo=UTC)
    assert record.provider_type == "openai"
    assert record.endpoint == "/v1/chat/completions"
    assert record.session_id == "agent:main:telegram:4411"
    assert record.user_agent == "OpenAI/Python 1.82.0"
    assert record.messages_count == 4
    assert record.attributes["question"] == "What should I pack for a week there?"
    assert record.attributes["answer"].startswith("Pack layers")


def test_credentials_in_the_envelope_headers_are_not_kept():
    record = parse_openai(load_json("openai/chat_completion.json"))

    assert "authorization" not in record.headers


def test_usage_in_a_final_chunk_without_choices_is_taken():
    record = parse_openai(envelope(*STREAMS["usage in a final chunk without choices"]))

    assert (record.input_tokens, record.cache_read_tokens, record.output_tokens) == (158, 1152, 9)
    assert record.attributes["answer"] == "2, 3 and 5."


def test_usage_in_a_chunk_that_still_has_choices_is_taken_and_its_content_kept():
    record = parse_openai(envelope(*STREAMS["usage in a chunk that still has choices"]))

    assert (record.input_tokens, record.cache_read_tokens, record.output_tokens, record.reasoning_tokens) == (
        20,
        64,
        97,
        71,
    )
    assert record.attributes["answer"] == "9.9 is larger than 9.11."


def test_reasoning_content_deltas_are_collected():
    record = parse_openai(envelope(*STREAMS["usage in a chunk that still has choices"]))

    assert record.attributes["reasoning"] == "Compare the tenths: 0.9 > 0.1, so 9.9 is larger."


def test_a_deepseek_model_in_openai_format_gets_the_deepseek_provider_type():
    record = parse_openai(envelope(*STREAMS["usage in a chunk that still has choices"]))

    assert record.provider_type == "deepseek"


def test_tool_calls_split_over_many_chunks_are_assembled_by_index():
    record = parse_openai(envelope(*STREAMS["tool calls over many chunks"]))

    calls = record.attributes["tool_calls"]
    assert [call["id"] for call in calls] == ["call_Wd9kPq1", "call_Zx4mNb2"]
    assert [call["function"]["name"] for call in calls] == ["get_weather", "get_weather"]
    assert [json.loads(call["function"]["arguments"]) for call in calls] == [
        {"city": "Paris", "unit": "c"},
        {"city": "Tokyo"},
    ]


def test_the_response_id_and_created_time_are_used_when_the_envelope_has_none():
    record = parse_openai(envelope(*STREAMS["tool calls over many chunks"]))

    assert record.request_id == "chatcmpl-Bf2TOOL"
    assert record.created_at == datetime.fromtimestamp(1748942000, tz=UTC)


def test_a_stream_given_as_parsed_chunks_gives_the_same_record():
    request, sse = STREAMS["tool calls over many chunks"]
    chunks = [data for _, data in stream_events(load_text(sse))]

    assert parse_openai({"request": load_json(request), "stream": chunks}) == parse_openai(envelope(request, sse))


def test_crlf_line_endings_parse_the_same():
    request, sse = STREAMS["usage in a final chunk without choices"]
    crlf = load_text(sse).replace("\n", "\r\n")

    assert parse_openai({"request": load_json(request), "stream": crlf}) == parse_openai(envelope(request, sse))


def test_responses_api_body_maps_input_tokens_details_and_output_items():
    record = parse_openai(load_json("openai/responses_response.json"))

    assert (record.input_tokens, record.cache_read_tokens) == (1500 - 1024, 1024)
    assert (record.output_tokens, record.reasoning_tokens) == (420, 256)
    assert record.endpoint == "/v1/responses"
    assert record.attributes["question"] == "Write a Python one-liner that reverses a string."
    assert record.attributes["answer"] == "s[::-1]"
    assert record.attributes["reasoning"] == "Slicing with a step of -1 reverses a sequence."
    assert record.attributes["tool_calls"][0]["function"]["name"] == "run_python"


def test_responses_api_stream_reads_usage_from_response_completed():
    record = parse_openai(envelope(*STREAMS["responses api events"]))

    assert (record.input_tokens, record.cache_read_tokens, record.output_tokens) == (262, 2048, 37)
    assert record.attributes["answer"] == "The capital of Australia is Canberra."
    assert record.attributes["question"] == "What is the capital of Australia? Then look up its population."
    assert record.attributes["tool_calls"] == [
        {
            "id": "call_pop_1",
            "type": "function",
            "function": {"name": "lookup_population", "arguments": '{"city":"Canberra"}'},
        }
    ]


def test_an_error_body_gives_an_error_message_and_keeps_the_captured_status():
    record = parse_openai(load_json("openai/error_response.json"))

    assert record.status_code == 429
    assert record.error_message.startswith("rate_limit_exceeded: Rate limit reached for gpt-4o")
    assert record.total_tokens == 0


def test_an_error_body_without_a_captured_status_gets_the_status_of_its_error_code():
    sample = load_json("openai/error_response.json")
    del sample["status_code"]

    assert parse_openai(sample).status_code == 429


def test_an_error_inside_a_stream_marks_the_record_failed_and_keeps_the_partial_answer():
    record = parse_openai(envelope("openai/chat_stream_tool_calls_request.json", "openai/chat_stream_error.sse"))

    assert record.error_message.startswith("server_error: The server had an error")
    assert record.status_code == 500
    assert record.attributes["answer"] == "Let me"


def test_a_server_counting_reasoning_beside_completion_tokens_is_detected_from_its_total():
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 40,
        "total_tokens": 190,
        "completion_tokens_details": {"reasoning_tokens": 50},
    }
    record = parse_openai({"request": {"model": "m"}, "response": {"object": "chat.completion", "usage": usage}})

    assert (record.output_tokens, record.reasoning_tokens, record.total_tokens) == (90, 50, 190)


def test_an_envelope_session_id_wins_over_session_headers():
    sample = load_json("openai/chat_completion.json")
    sample["session_id"] = "explicit"

    assert parse_openai(sample).session_id == "explicit"


def test_an_unknown_envelope_field_is_rejected_by_name():
    sample = load_json("openai/chat_completion.json")
    sample["respnose"] = {}

    with pytest.raises(RecordError) as caught:
        parse_openai(sample)

    assert (caught.value.field, caught.value.reason) == ("respnose", "unknown field")


def test_an_envelope_with_both_response_and_stream_is_rejected():
    sample = load_json("openai/chat_completion.json")
    sample["stream"] = "data: {}\n\n"

    with pytest.raises(RecordError) as caught:
        parse_openai(sample)

    assert caught.value.field == "stream"


def test_an_envelope_without_response_or_stream_is_rejected():
    with pytest.raises(RecordError) as caught:
        parse_openai({"request": {"model": "gpt-4o", "messages": []}})

    assert caught.value.field == "response"


def test_a_stream_with_broken_json_is_rejected_naming_the_stream():
    with pytest.raises(RecordError) as caught:
        parse_openai({"request": {}, "stream": 'data: {"id": "x", "choices": [\n\n'})

    assert caught.value.field == "stream"


def test_a_non_numeric_usage_value_names_its_path():
    usage = {"prompt_tokens": "many", "completion_tokens": 1}

    with pytest.raises(RecordError) as caught:
        parse_openai({"request": {}, "response": {"object": "chat.completion", "usage": usage}})

    assert caught.value.field == "response.usage.prompt_tokens"


def test_a_failed_status_with_a_body_that_is_no_error_object_still_gets_an_error_message():
    record = parse_openai({"status_code": 502, "request": {"model": "gpt-4o"}, "response": {"detail": "Bad Gateway"}})

    assert (record.status_code, record.error_message) == (502, "HTTP 502")
