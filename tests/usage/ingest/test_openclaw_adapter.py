import json

import pytest

from usage.ingest.canonical import CanonicalRecord, RecordError
from usage.ingest.openclaw import parse_openclaw_lines, should_skip_file

from .sample_files import sample_path

SESSION = "3f9a1c2e-7b4d-4e8f-9a0b-1c2d3e4f5a6b"
SOURCE = f"agents/main/sessions/{SESSION}.jsonl"


def session_lines() -> list[str]:
    return sample_path(f"openclaw/{SESSION}.jsonl").read_text(encoding="utf-8").splitlines()


def parsed(lines=None, source=SOURCE) -> dict[int, CanonicalRecord | RecordError]:
    return dict(parse_openclaw_lines(session_lines() if lines is None else lines, source_name=source))


def records() -> dict[int, CanonicalRecord]:
    return {number: item for number, item in parsed().items() if isinstance(item, CanonicalRecord)}


def test_only_assistant_messages_with_usage_or_a_failure_become_records():
    assert sorted(records()) == [5, 7, 11, 12, 14]


def test_every_total_equals_the_agents_own_total_tokens():
    lines = session_lines()

    for number, record in records().items():
        usage = json.loads(lines[number - 1])["message"]["usage"]
        assert record.total_tokens == usage["totalTokens"]


def test_usage_maps_one_to_one_because_the_agent_already_excludes_cache_from_input():
    first = records()[5]

    assert (first.input_tokens, first.output_tokens, first.cache_read_tokens, first.cache_creation_tokens) == (
        3120,
        145,
        0,
        11800,
    )


def test_a_record_carries_model_provider_and_content():
    first = records()[5]

    assert (first.model, first.provider_name, first.provider_type) == ("claude-sonnet-4-5", "anthropic", "claude")
    assert first.is_stream is True
    assert first.status_code == 200
    assert first.attributes["question"] == "Find the three largest files in ~/projects."
    assert first.attributes["reasoning"] == "A du | sort pipeline answers this."
    assert json.loads(first.attributes["tool_calls"][0]["function"]["arguments"]) == {
        "command": "du -ah ~/projects | sort -rh | head -n 3"
    }


def test_the_session_id_comes_from_the_session_header_line():
    assert {record.session_id for record in records().values()} == {SESSION}


def test_the_session_id_falls_back_to_the_file_name_without_a_header():
    without_header = session_lines()[1:]

    found = parsed(without_header, source="/data/agents/main/sessions/my-session.jsonl")

    assert {item.session_id for item in found.values() if isinstance(item, CanonicalRecord)} == {"my-session"}


def test_request_ids_are_the_same_when_a_file_is_imported_again():
    first = [record.request_id for record in records().values()]

    assert first == [record.request_id for record in records().values()]
    assert len(set(first)) == len(first)
    assert first[0] == f"openclaw:{SESSION}:as000001"


def test_a_line_without_an_id_gets_an_id_from_its_content():
    line = json.loads(session_lines()[4])
    del line["id"]
    text = json.dumps(line)

    once = parsed([text])[1].request_id

    assert once == parsed([text])[1].request_id
    assert once.startswith(f"openclaw:{SESSION}:")


def test_an_error_stop_reason_takes_the_status_its_message_starts_with():
    failed = records()[11]

    assert failed.status_code == 429
    assert failed.error_message.startswith("429 ")
    assert failed.provider_type == "openai"


def test_an_error_message_without_a_status_gives_500():
    line = json.loads(session_lines()[10])
    line["message"]["errorMessage"] = "socket hang up"

    assert parsed([json.dumps(line)])[1].status_code == 500


def test_an_aborted_message_gives_499_so_it_does_not_count_against_the_provider():
    aborted = records()[14]

    assert aborted.status_code == 499
    assert aborted.error_message == "Request was aborted"
    assert aborted.total_tokens == 520


def test_a_broken_line_yields_an_error_with_its_line_number():
    broken = parsed()[8]

    assert isinstance(broken, RecordError)
    assert broken.field == "line"


def test_messages_count_and_question_follow_the_conversation_branch():
    found = records()

    assert [found[number].messages_count for number in (5, 7, 11, 12, 14)] == [1, 3, 5, 5, 6]
    assert found[12].attributes["question"] == "Now compress the biggest one."


def test_version_1_files_without_ids_are_read_as_a_linear_conversation():
    user = {"type": "message", "timestamp": "2025-10-01T10:00:00Z", "message": {"role": "user", "content": "hi"}}
    reply = {
        "type": "message",
        "timestamp": "2025-10-01T10:00:02Z",
        "message": {
            "role": "assistant",
            "content": [{"type": "text", "text": "hello"}],
            "model": "m",
            "provider": "deepseek",
            "usage": {"input": 3, "output": 2},
            "stopReason": "stop",
        },
    }

    record = parsed([json.dumps(user), json.dumps(reply)], source="old.jsonl")[2]

    assert (record.messages_count, record.attributes["question"], record.provider_type) == (1, "hi", "deepseek")


def test_lines_given_as_bytes_are_accepted():
    as_bytes = [line.encode() for line in session_lines()]

    assert parsed(as_bytes).keys() == parsed().keys()


def test_a_timestamp_without_a_zone_is_reported_for_that_line_only():
    lines = session_lines()
    entry = json.loads(lines[4])
    entry["timestamp"] = "2026-01-12T09:00:09"
    lines[4] = json.dumps(entry)

    found = parsed(lines)

    assert isinstance(found[5], RecordError) and found[5].field == "timestamp"
    assert isinstance(found[7], CanonicalRecord)


@pytest.mark.parametrize(
    ("name", "skip"),
    [
        (f"{SESSION}.jsonl", False),
        (f"{SESSION}.jsonl.broken.1736672400", True),
        (f"{SESSION}.reset.jsonl", True),
        (f"/home/node/.openclaw/agents/main/sessions/{SESSION}.jsonl.deleted.2026-01-12", True),
        (f"{SESSION}.bak.jsonl", True),
        ("sessions.json", False),
    ],
)
def test_files_the_agent_set_aside_are_skipped(name, skip):
    assert should_skip_file(name) is skip
