import json
from datetime import UTC, datetime

import pytest

from usage.ingest.canonical import RecordError
from usage.ingest.higress import parse_higress

from .sample_files import load_json, load_text

OPENAI_LINE, CLAUDE_LINE, GEMINI_LINE, FAILED_LINE, HEALTH_CHECK_LINE = range(5)


def log_line(number: int) -> dict:
    return json.loads(load_text("higress/access.log.jsonl").splitlines()[number])


def ai_log(number: int) -> dict:
    return json.loads(log_line(number)["ai_log"])


@pytest.mark.parametrize("number", [OPENAI_LINE, CLAUDE_LINE, GEMINI_LINE])
def test_the_canonical_total_equals_the_gateways_total_token(number):
    record = parse_higress(log_line(number))

    assert record.total_tokens == int(ai_log(number)["total_token"])


def test_openai_input_token_includes_cached_tokens_which_are_taken_out():
    record = parse_higress(log_line(OPENAI_LINE))

    assert (record.input_tokens, record.cache_read_tokens, record.output_tokens) == (2006 - 1920, 1920, 300)


def test_claude_input_token_excludes_cache_traffic_so_it_is_taken_as_is():
    record = parse_higress(log_line(CLAUDE_LINE))

    assert (record.input_tokens, record.cache_read_tokens, record.cache_creation_tokens) == (2095, 10240, 2560)
    assert record.provider_type == "claude"


def test_gemini_cached_content_is_taken_out_and_thoughts_added_to_output():
    record = parse_higress(log_line(GEMINI_LINE))

    assert (record.input_tokens, record.cache_read_tokens) == (5230 - 4096 + 45, 4096)
    assert (record.output_tokens, record.reasoning_tokens) == (180 + 612, 612)


def test_a_full_access_log_line_maps_the_envoy_fields():
    record = parse_higress(log_line(OPENAI_LINE))

    assert record.request_id == "5895f5a9-e4e3-425b-98db-6c6a926195b7"
    assert record.created_at == datetime(2025, 6, 3, 8, 15, 30, 78000, tzinfo=UTC)
    assert record.endpoint == "/v1/chat/completions"
    assert record.status_code == 200
    assert record.user_agent == "OpenAI/Python 1.82.0"
    assert record.model == "gpt-4o-2024-08-06"
    assert (record.duration_ms, record.ttft_ms) == (1955, 309)
    assert record.is_stream is True
    assert record.provider_type == "openai"


def test_session_question_answer_tool_calls_and_reasoning_are_kept_in_full():
    record = parse_higress(log_line(OPENAI_LINE))

    assert record.session_id == "sess_7f3a9c"
    assert record.attributes["question"] == "Why did the build fail?"
    assert record.attributes["answer"] == "The lockfile is out of date; run npm install and commit it."
    assert record.attributes["reasoning"] == "The log shows ERR_PNPM_OUTDATED_LOCKFILE."
    assert record.attributes["tool_calls"][0]["function"]["arguments"] == '{"job":"build"}'
    assert record.attributes["input_token_details"] == {"audio_tokens": 0, "cached_tokens": 1920}


def test_route_cluster_and_consumer_become_attributes():
    attributes = parse_higress(log_line(OPENAI_LINE)).attributes

    assert attributes["route"] == "ai-route-openai.internal"
    assert attributes["cluster"] == "outbound|443||llm-openai.internal.dns"
    assert attributes["consumer"] == "team-search"


def test_the_query_string_is_dropped_from_the_endpoint_so_no_api_key_is_stored():
    record = parse_higress(log_line(GEMINI_LINE))

    assert record.endpoint == "/v1beta/models/gemini-2.5-pro:generateContent"


def test_an_upstream_failure_gives_its_status_and_an_error_message():
    record = parse_higress(log_line(FAILED_LINE))

    assert record.status_code == 503
    assert record.error_message.startswith("HTTP 503: UF")
    assert record.provider_type == "qwen"


def test_a_line_the_plugin_did_not_handle_is_rejected_naming_ai_log():
    with pytest.raises(RecordError) as caught:
        parse_higress(log_line(HEALTH_CHECK_LINE))

    assert caught.value.field == "ai_log"


def test_the_ai_log_alone_as_an_object_or_as_json_text_gives_the_same_record():
    alone = load_json("higress/ai_log_only.json")

    record = parse_higress(alone)

    assert record == parse_higress(json.dumps(alone))
    assert (record.model, record.input_tokens, record.output_tokens, record.total_tokens) == ("qwen-turbo", 10, 69, 79)
    assert record.session_id == "sess_abc123"
    assert record.attributes == {"consumer": "mobile-app"}


def test_the_response_id_is_the_request_id_when_envoy_logged_none():
    line = log_line(CLAUDE_LINE)
    line["request_id"] = "-"

    assert parse_higress(line).request_id == "msg_01Gw9ZZ"


def test_a_non_numeric_token_value_is_rejected_naming_the_field():
    with pytest.raises(RecordError) as caught:
        parse_higress({"model": "qwen-max", "input_token": "ten", "output_token": "1"})

    assert caught.value.field == "input_token"


def test_a_start_time_without_a_zone_is_rejected():
    line = log_line(OPENAI_LINE)
    line["start_time"] = "2025-06-03T08:15:30"

    with pytest.raises(RecordError) as caught:
        parse_higress(line)

    assert caught.value.field == "start_time"
