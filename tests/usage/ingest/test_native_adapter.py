from datetime import UTC, datetime

import pytest

from usage.ingest.canonical import RecordError
from usage.ingest.native import parse_native

from .sample_files import load_json


def full_record(**changes):
    record = load_json("native/full_record.json")
    record.update(changes)
    return record


def rejection(record) -> RecordError:
    with pytest.raises(RecordError) as caught:
        parse_native(record)
    return caught.value


def test_a_complete_record_maps_every_field():
    record = parse_native(full_record())

    assert record.request_id == "hub-2025-06-03-000142"
    assert record.model == "claude-sonnet-4-5-20250929"
    assert record.original_model == "claude-sonnet-4-5"
    assert record.provider_name == "anthropic-primary"
    assert record.provider_type == "claude"
    assert record.endpoint == "/v1/messages"
    assert record.status_code == 200
    assert record.is_stream is True
    assert (record.input_tokens, record.output_tokens) == (2095, 503)
    assert (record.cache_creation_tokens, record.cache_creation_5m_tokens, record.cache_creation_1h_tokens) == (
        2560,
        1536,
        1024,
    )
    assert record.cache_read_tokens == 10240
    assert (record.duration_ms, record.ttft_ms) == (9340, 1210)
    assert record.session_id == "sess_7f3a9c"
    assert record.user == "alice"
    assert record.messages_count == 3
    assert [hop["provider"] for hop in record.provider_chain] == ["anthropic-backup", "anthropic-primary"]
    assert record.attributes == {"question": "What should I check first?", "team": "sre"}


def test_the_sent_total_matches_the_canonical_total_so_no_token_is_lost():
    sent = full_record()

    assert parse_native(sent).total_tokens == sent["total_tokens"]


def test_created_at_with_an_offset_is_stored_in_utc():
    record = parse_native(full_record())

    assert record.created_at == datetime(2025, 6, 3, 8, 15, 30, 250000, tzinfo=UTC)


def test_unix_seconds_are_accepted_as_created_at():
    record = parse_native(full_record(created_at=1748938530))

    assert record.created_at == datetime(2025, 6, 3, 8, 15, 30, tzinfo=UTC)


def test_a_timestamp_without_a_time_zone_is_rejected():
    error = rejection(full_record(created_at="2025-06-03T16:15:30"))

    assert error.field == "created_at"
    assert error.reason == "timestamp has no time zone; add Z or an offset"


def test_unix_milliseconds_are_rejected_as_created_at():
    error = rejection(full_record(created_at=1748938530250))

    assert error.field == "created_at"
    assert "milliseconds" in error.reason


def test_digit_strings_and_whole_floats_are_accepted_as_integers():
    record = parse_native(load_json("native/minimal_record.json"))

    assert (record.input_tokens, record.output_tokens) == (1200, 80)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_tokens", "12k"),
        ("output_tokens", True),
        ("cache_read_tokens", 1.5),
        ("duration_ms", [100]),
        ("status_code", "ok"),
        ("is_stream", "yes"),
        ("model", 42),
        ("request_id", 12345),
        ("created_at", ["2025-06-03"]),
        ("attributes", ["question"]),
        ("headers", "user-agent: x"),
        ("provider_chain", {"provider": "a"}),
        ("messages_count", "three"),
    ],
)
def test_a_value_of_the_wrong_type_is_rejected_naming_its_field(field, value):
    assert rejection(full_record(**{field: value})).field == field


@pytest.mark.parametrize(
    "field",
    [
        "input_tokens",
        "output_tokens",
        "cache_creation_tokens",
        "cache_creation_5m_tokens",
        "cache_creation_1h_tokens",
        "cache_read_tokens",
        "reasoning_tokens",
    ],
)
def test_a_negative_token_count_is_rejected(field):
    record = {"model": "gpt-4o", field: -1}

    error = rejection(record)

    assert (error.field, error.reason) == (field, "must not be negative")


def test_a_negative_count_sent_as_a_string_is_rejected_too():
    assert rejection({"input_tokens": "-5"}).reason == "must not be negative"


def test_an_unknown_field_is_rejected_by_name():
    error = rejection(full_record(prompt_tokens=10))

    assert (error.field, error.reason) == ("prompt_tokens", "unknown field")


@pytest.mark.parametrize(
    ("field", "limit"),
    [("request_id", 128), ("model", 128), ("session_id", 128), ("endpoint", 255), ("user_agent", 512)],
)
def test_a_string_longer_than_its_column_is_rejected(field, limit):
    assert parse_native(full_record(**{field: "x" * limit}))

    error = rejection(full_record(**{field: "x" * (limit + 1)}))

    assert error.field == field
    assert f"longer than {limit}" in error.reason


def test_a_huge_error_message_is_cut_to_4000_characters_not_rejected():
    record = parse_native(full_record(error_message="E" * 100_000))

    assert record.error_message == "E" * 4000


@pytest.mark.parametrize("status", [99, 600, 0])
def test_a_status_code_outside_100_to_599_is_rejected(status):
    assert rejection(full_record(status_code=status)).field == "status_code"


def test_a_cache_ttl_split_larger_than_the_cache_write_is_rejected():
    record = full_record(cache_creation_tokens=2000, total_tokens=None)

    error = rejection(record)

    assert error.field == "cache_creation_tokens"


def test_reasoning_tokens_above_output_tokens_are_rejected():
    error = rejection({"output_tokens": 10, "reasoning_tokens": 11})

    assert error.field == "reasoning_tokens"


def test_a_total_that_counts_cached_tokens_inside_input_is_rejected():
    sender_counting_cache_inside = {"input_tokens": 2006, "cache_read_tokens": 1920, "output_tokens": 300}

    error = rejection({**sender_counting_cache_inside, "total_tokens": 2306})

    assert error.field == "total_tokens"


def test_null_means_not_given():
    record = parse_native({"model": "gpt-4o", "created_at": None, "session_id": None, "input_tokens": None})

    assert (record.created_at, record.session_id, record.input_tokens) == (None, "", 0)


def test_credentials_in_headers_are_not_kept():
    record = parse_native(full_record())

    assert "authorization" not in record.headers
    assert record.headers == {"x-agent-session": "ignored-because-session_id-is-given"}


def test_the_session_comes_from_an_agent_header_when_the_record_names_none():
    record = parse_native(load_json("native/minimal_record.json"))

    assert record.session_id == "run-42"


def test_a_provider_type_outside_the_known_list_is_rejected():
    assert rejection(full_record(provider_type="anthropic")).field == "provider_type"


def test_provider_and_provider_name_that_disagree_are_rejected():
    assert rejection(full_record(provider_name="other")).field == "provider_name"


def test_a_provider_chain_entry_is_validated_naming_its_position():
    chain = [{"provider": "a", "status_code": 200}, {"provider": "b", "status_code": "teapot"}]

    assert rejection(full_record(provider_chain=chain)).field == "provider_chain[1].status_code"


def test_a_record_that_is_not_an_object_is_rejected():
    assert rejection(["model", "gpt-4o"]).field == "record"
