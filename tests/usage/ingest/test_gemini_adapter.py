import json

import pytest

from usage.ingest._common import stream_events
from usage.ingest.gemini import parse_gemini

from .sample_files import envelope, load_json, load_text


def sse_record():
    return parse_gemini(envelope("gemini/stream_request.json", "gemini/stream.sse", model="gemini-2.5-flash"))


def array_record():
    return parse_gemini({"request": {"contents": []}, "stream": load_text("gemini/stream_array.json")})


def test_a_body_total_equals_total_token_count():
    sample = load_json("gemini/generate_content.json")

    assert parse_gemini(sample).total_tokens == sample["response"]["usageMetadata"]["totalTokenCount"]


@pytest.mark.parametrize(
    ("make", "sample"), [(sse_record, "gemini/stream.sse"), (array_record, "gemini/stream_array.json")]
)
def test_a_stream_total_equals_the_last_total_token_count_not_a_sum(make, sample):
    last = [data["usageMetadata"] for _, data in stream_events(load_text(sample))][-1]

    assert make().total_tokens == last["totalTokenCount"]


def test_cached_content_is_taken_out_of_the_prompt_and_tool_use_prompt_added():
    record = parse_gemini(load_json("gemini/generate_content.json"))

    assert record.input_tokens == 5230 - 4096 + 45
    assert record.cache_read_tokens == 4096


def test_thoughts_are_added_to_candidates_and_reported_as_reasoning():
    record = parse_gemini(load_json("gemini/generate_content.json"))

    assert (record.output_tokens, record.reasoning_tokens) == (180 + 612, 612)


def test_a_body_maps_model_question_answer_and_thought_text():
    record = parse_gemini(load_json("gemini/generate_content.json"))

    assert record.model == "gemini-2.5-pro"
    assert record.original_model == ""
    assert record.provider_type == "gemini"
    assert record.request_id == "kYtFaJqzLqm1nvgPhu2VuAk"
    assert record.endpoint == "/v1beta/models/gemini-2.5-pro:generateContent"
    assert record.attributes["question"] == "Now list the prerequisites it mentions."
    assert record.attributes["answer"] == "Prerequisites: Python 3.11, PostgreSQL 16 and 4 GB of RAM."
    assert record.attributes["reasoning"] == "The reader wants the prerequisites listed in chapter 3."
    assert record.messages_count == 3


def test_streamed_usage_metadata_is_taken_from_the_last_chunk():
    record = sse_record()

    assert (record.input_tokens, record.output_tokens, record.reasoning_tokens) == (62, 33 + 114, 114)
    assert record.is_stream is True
    assert record.endpoint == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"


def test_streamed_text_is_joined_and_function_calls_become_tool_calls():
    record = sse_record()

    assert record.attributes["answer"] == "Milan's cathedral took nearly six centuries to finish."
    call = record.attributes["tool_calls"][0]
    assert call["function"]["name"] == "book_table"
    assert json.loads(call["function"]["arguments"]) == {"city": "Milan", "people": 2}


def test_a_json_array_stream_without_alt_sse_is_accepted():
    record = array_record()

    assert (record.input_tokens, record.cache_read_tokens, record.output_tokens) == (57, 2048, 11)
    assert record.model == "gemini-2.0-flash"
    assert record.attributes["answer"] == "Bonjour ! Comment puis-je vous aider ?"


def test_the_models_prefix_is_dropped_from_the_envelope_model():
    sample = load_json("gemini/generate_content.json")
    sample["response"]["modelVersion"] = "gemini-2.5-pro-preview-06-05"

    record = parse_gemini(sample)

    assert (record.model, record.original_model) == ("gemini-2.5-pro-preview-06-05", "gemini-2.5-pro")


def test_an_error_body_gives_its_code_as_status_and_its_message():
    record = parse_gemini(load_json("gemini/error_response.json"))

    assert record.status_code == 429
    assert record.error_message.startswith("RESOURCE_EXHAUSTED: You exceeded your current quota")
    assert record.total_tokens == 0


def test_a_prompt_the_provider_refused_is_recorded_as_blocked_by_the_provider():
    body = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12},
        "modelVersion": "gemini-2.5-flash",
    }

    record = parse_gemini({"request": {}, "response": body})

    assert (record.blocked_by, record.blocked_reason) == ("provider", "SAFETY")
    assert record.input_tokens == 12
