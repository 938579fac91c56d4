"""Anthropic Messages API: request + response body, or request + SSE event stream.

Token mapping (Anthropic reports cache traffic BESIDE input_tokens, and thinking inside
output_tokens, so nothing is subtracted):

* input = usage.input_tokens, cache_read = cache_read_input_tokens,
  cache_creation = cache_creation_input_tokens, split by TTL from
  cache_creation.ephemeral_5m_input_tokens / ephemeral_1h_input_tokens,
  output = output_tokens, reasoning = 0 (the API does not count thinking separately).

In a stream, message_start carries the input side and message_delta the cumulative output
(and, for server tools, updated input side): every field takes the LAST value seen, nothing is
added, so a count repeated by both events is counted once.
"""

from __future__ import annotations

from typing import Any

from usage.ingest._common import array, format_error, last_user_text, read_count, string, sub, tool_call
from usage.ingest._envelope import Reply, build_record, messages_count, read_envelope
from usage.ingest.canonical import CanonicalRecord

ENDPOINT = "/v1/messages"

# HTTP status Anthropic sends each error type with, for records that did not capture the status.
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

_TOOL_BLOCKS = ("tool_use", "server_tool_use", "mcp_tool_use")


def parse_anthropic(obj: dict[str, Any]) -> CanonicalRecord:
    envelope = read_envelope(obj)
    reply = _from_stream(envelope.events) if envelope.events is not None else _from_body(envelope.response or {})
    messages = envelope.request.get("messages")
    return build_record(
        envelope,
        reply,
        provider_type="claude",
        endpoint=ENDPOINT,
        question=last_user_text(messages),
        messages=messages_count(messages),
    )


def _apply_usage(reply: Reply, usage: dict[str, Any], where: str) -> None:
    reply.input_tokens = read_count(usage.get("input_tokens"), f"{where}.input_tokens")
    reply.output_tokens = read_count(usage.get("output_tokens"), f"{where}.output_tokens")
    reply.cache_read_tokens = read_count(usage.get("cache_read_input_tokens"), f"{where}.cache_read_input_tokens")
    written = read_count(usage.get("cache_creation_input_tokens"), f"{where}.cache_creation_input_tokens")
    by_ttl = sub(usage, "cache_creation")
    reply.cache_creation_5m_tokens = read_count(
        by_ttl.get("ephemeral_5m_input_tokens"), f"{where}.cache_creation.ephemeral_5m_input_tokens"
    )
    reply.cache_creation_1h_tokens = read_count(
        by_ttl.get("ephemeral_1h_input_tokens"), f"{where}.cache_creation.ephemeral_1h_input_tokens"
    )
    # The split is the more detailed figure; a total smaller than it would be a reporting slip.
    reply.cache_creation_tokens = max(written, reply.cache_creation_5m_tokens + reply.cache_creation_1h_tokens)


def _apply_error(reply: Reply, error: Any) -> None:
    if isinstance(error, dict):
        reply.error_message = format_error(error.get("type"), error.get("message"))
        reply.error_status = ERROR_STATUS.get(str(error.get("type")))
    elif error:
        reply.error_message = format_error("", str(error))


def _read_blocks(reply: Reply, blocks: list[dict[str, Any]]) -> None:
    answers, thoughts = [], []
    for block in blocks:
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            answers.append(block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            thoughts.append(block["thinking"])
        elif kind in _TOOL_BLOCKS:
            arguments = block.get("partial_json")
            if not arguments:
                arguments = block.get("input") if block.get("input") is not None else {}
            reply.tool_calls.append(tool_call(block.get("id", ""), block.get("name", ""), arguments))
    reply.answer = "\n".join(text for text in answers if text)
    reply.reasoning = "\n".join(text for text in thoughts if text)


def _from_body(body: dict[str, Any]) -> Reply:
    reply = Reply()
    if body.get("type") == "error" or body.get("error"):
        _apply_error(reply, body.get("error"))
    reply.model = string(body.get("model"))
    # Error bodies carry no message id but do carry Anthropic's request id.
    reply.response_id = string(body.get("id")) or string(body.get("request_id"))
    if isinstance(body.get("usage"), dict):
        _apply_usage(reply, body["usage"], "response.usage")
    _read_blocks(reply, [block for block in array(body.get("content")) if isinstance(block, dict)])
    return reply


def _from_stream(events: list[tuple[str, dict[str, Any]]]) -> Reply:
    reply = Reply()
    usage: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    ended = False
    for number, (name, event) in enumerate(events, start=1):
        kind = event.get("type") or name
        if kind == "error":
            _apply_error(reply, event.get("error"))
        elif kind == "message_start":
            message = sub(event, "message")
            reply.model = string(message.get("model")) or reply.model
            reply.response_id = string(message.get("id")) or reply.response_id
            usage.update({key: value for key, value in sub(message, "usage").items() if value is not None})
        elif kind in ("message_delta", "message_stop"):
            ended = True  # message_delta carries the final usage; message_stop follows it
            usage.update({key: value for key, value in sub(event, "usage").items() if value is not None})
        elif kind == "content_block_start":
            blocks[_index(event, number)] = dict(sub(event, "content_block"))
        elif kind == "content_block_delta":
            _apply_delta(blocks.setdefault(_index(event, number), {}), sub(event, "delta"))
    if usage:
        _apply_usage(reply, usage, "stream usage")
    ordered = [block for _, block in sorted(blocks.items())]
    for block in ordered:
        if isinstance(block.get("partial_json"), list):
            block["partial_json"] = "".join(part for part in block["partial_json"] if isinstance(part, str))
    _read_blocks(reply, ordered)
    reply.incomplete = not ended and not reply.error_message
    return reply


def _index(event: dict[str, Any], number: int) -> int:
    index = event.get("index")
    return index if isinstance(index, int) else 10**6 + number


def _apply_delta(block: dict[str, Any], delta: dict[str, Any]) -> None:
    kind = delta.get("type")
    if kind == "text_delta" and isinstance(delta.get("text"), str):
        block.setdefault("type", "text")
        block["text"] = string(block.get("text")) + delta["text"]
    elif kind == "thinking_delta" and isinstance(delta.get("thinking"), str):
        block.setdefault("type", "thinking")
        block["thinking"] = string(block.get("thinking")) + delta["thinking"]
    elif kind == "input_json_delta" and isinstance(delta.get("partial_json"), str):
        block.setdefault("type", "tool_use")
        parts = block.setdefault("partial_json", [])
        if isinstance(parts, list):
            parts.append(delta["partial_json"])
