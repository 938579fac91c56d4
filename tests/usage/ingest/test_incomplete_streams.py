"""A stream cut before the provider's final usage event is stored flagged incomplete, with its
tokens as far as known and an error note, never as a clean success (issue 14)."""

from __future__ import annotations

import pytest

from tests.usage.ingest.sample_files import load_json, load_text
from usage.ingest._common import INCOMPLETE_NOTE
from usage.ingest.detect import parse_record
from usage.ingest.native import parse_native


def cut(stream: str, before: str) -> str:
    """The SSE text up to (not including) the first event holding ``before``."""
    events = stream.split("\n\n")
    position = next(i for i, event in enumerate(events) if before in event)
    assert position > 0
    return "\n\n".join(events[:position]) + "\n\n"


CASES = {
    # name: (format, request sample, stream sample, the text of the event the cut falls before)
    "openai chat before finish_reason": (
        "openai", "openai/chat_stream_request.json", "openai/chat_stream_usage_last.sse", '"finish_reason":"stop"'
    ),
    "openai chat after finish_reason, before the usage it asked for": (
        "openai", "openai/chat_stream_request.json", "openai/chat_stream_usage_last.sse", '"usage":{'
    ),
    "openai responses before response.completed": (
        "openai", "openai/responses_stream_request.json", "openai/responses_stream.sse", "event: response.completed"
    ),
    "anthropic before message_delta": (
        "anthropic", "anthropic/stream_request.json", "anthropic/stream.sse", "event: message_delta"
    ),
    "gemini before the chunk with finishReason": (
        "gemini", "gemini/stream_request.json", "gemini/stream.sse", '"finishReason"'
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_stream_cut_before_its_final_usage_event_is_flagged_incomplete(case):
    fmt, request, stream, before = CASES[case]
    whole = parse_record({"request": load_json(request), "stream": load_text(stream)}, fmt)
    assert not whole.incomplete and not whole.error_message
    record = parse_record({"request": load_json(request), "stream": cut(load_text(stream), before)}, fmt)
    assert record.incomplete
    assert record.error_message == INCOMPLETE_NOTE
    assert record.status_code == 200  # the stream had begun: its HTTP status was a success
    assert record.total_tokens <= whole.total_tokens  # as far as known, never a placeholder


def test_a_cut_anthropic_stream_keeps_the_input_side_it_had_seen():
    stream = cut(load_text("anthropic/stream.sse"), "event: message_delta")
    record = parse_record({"request": load_json("anthropic/stream_request.json"), "stream": stream}, "anthropic")
    whole = parse_record(
        {"request": load_json("anthropic/stream_request.json"), "stream": load_text("anthropic/stream.sse")},
        "anthropic",
    )
    assert record.input_tokens == whole.input_tokens > 0
    assert record.cache_read_tokens == whole.cache_read_tokens


def test_a_stream_ended_by_a_provider_error_is_an_error_not_incomplete():
    record = parse_record(
        {"request": load_json("anthropic/stream_request.json"), "stream": load_text("anthropic/stream_error.sse")},
        "anthropic",
    )
    assert not record.incomplete and record.status_code == 529


def test_a_chat_stream_that_did_not_ask_for_usage_is_complete_at_its_finish_reason():
    request = {**load_json("openai/chat_stream_request.json"), "stream_options": None}
    stream = cut(load_text("openai/chat_stream_usage_last.sse"), '"usage":{')
    assert not parse_record({"request": request, "stream": stream}, "openai").incomplete


def test_a_captured_status_is_kept_on_a_cut_stream():
    stream = cut(load_text("anthropic/stream.sse"), "event: message_delta")
    record = parse_record({"request": {}, "stream": stream, "status_code": 200}, "anthropic")
    assert record.incomplete and record.status_code == 200


def test_native_senders_may_flag_a_record_incomplete_and_keep_their_own_note():
    flagged = parse_native({"request_id": "r", "model": "m", "incomplete": True})
    assert flagged.incomplete and flagged.error_message == INCOMPLETE_NOTE
    noted = parse_native({"request_id": "r", "model": "m", "incomplete": True, "error_message": "client went away"})
    assert noted.error_message == "client went away"
