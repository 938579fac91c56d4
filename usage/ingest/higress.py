"""Higress gateway access-log lines carrying the ai-statistics plugin's ``ai_log``.

Accepted: a whole access-log line (JSON object with ``ai_log`` as JSON-encoded text, beside
Envoy fields such as start_time, request_id, path, response_code, user_agent, route_name,
upstream_cluster), or the ``ai_log`` object alone (as a dict or as JSON text). Envoy writes "-"
for absent values and the plugin writes numbers as strings; both are read as such.

Token mapping. The plugin copies the provider's prompt and completion counts unchanged into
``input_token`` / ``output_token`` and the provider's detail objects into
``input_token_details`` / ``output_token_details``, so the convention depends on which
provider answered, and the detail keys tell which one it was:

* OpenAI (default): input_token is prompt_tokens, which INCLUDES the cached tokens (the plugin's
  own example logs input 100 with cached_tokens 80). input = input_token - cached_tokens,
  cache_read = cached_tokens, output = output_token (includes reasoning_tokens).
* Anthropic (details hold cache_read_input_tokens / cache_creation_input_tokens): input_token
  is usage.input_tokens, which EXCLUDES cache traffic. Taken as is.
* Gemini (details hold cached_content_token_count / tool_use_prompt_token_count, or output
  details thoughts_token_count): input_token is promptTokenCount (includes cached content);
  output_token is candidatesTokenCount (EXCLUDES thoughts). input = input_token - cached +
  tool-use prompt, output = output_token + thoughts, reasoning = thoughts.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from usage.ingest._common import (
    blank,
    finish,
    format_error,
    maybe_json,
    provider_type_from_name,
    read_count,
    read_json_object,
    read_opt_int,
    read_status,
    read_str,
    read_time,
    split_inclusive,
    type_name,
)
from usage.ingest.canonical import CanonicalRecord, RecordError

# ai_log keys read into record fields; every other key is kept as a custom attribute.
_HANDLED = frozenset(
    {
        "model",
        "request_model",
        "input_token",
        "output_token",
        "total_token",
        "llm_first_token_duration",
        "llm_service_duration",
        "response_type",
        "session_id",
        "reasoning_tokens",
        "cached_tokens",
        "input_token_details",
        "output_token_details",
        "question",
        "answer",
        "tool_calls",
        "reasoning",
        "messages",
        "route",
        "cluster",
        "consumer",
        "provider",
        "user_agent",
    }
)


def parse_higress(obj: dict[str, Any] | str) -> CanonicalRecord:
    line: dict[str, Any] = {}
    if isinstance(obj, dict) and "ai_log" in obj:
        line = obj
        if blank(obj["ai_log"]):
            raise RecordError("ai_log", "empty: the request did not pass the ai-statistics plugin")
        ai_log = read_json_object(obj["ai_log"], "ai_log")
    elif isinstance(obj, (dict, str)):
        ai_log = read_json_object(obj, "ai_log")
    else:
        raise RecordError("ai_log", f"must be a JSON object or JSON text, got {type_name(obj)}")

    record = CanonicalRecord()
    _read_line(record, line)
    if record.request_id is None and isinstance(ai_log.get("chat_id"), str) and not blank(ai_log["chat_id"]):
        # Without Envoy's x-request-id the provider's response id is the one stable key for
        # de-duplicating a line that is shipped twice.
        record.request_id = ai_log["chat_id"]
    _read_tokens(record, ai_log)

    model = ai_log.get("model")
    if isinstance(model, str) and model not in ("", "-", "unknown"):
        record.model = model
    requested = ai_log.get("request_model")
    if isinstance(requested, str) and requested not in ("", "-", "unknown", "UNKNOWN"):
        record.original_model = requested
        record.model = record.model or requested
    record.ttft_ms = read_opt_int(ai_log.get("llm_first_token_duration"), "llm_first_token_duration")
    service = read_opt_int(ai_log.get("llm_service_duration"), "llm_service_duration")
    record.duration_ms = service if service is not None else record.duration_ms
    # The plugin writes response_type "stream" for SSE replies; older versions only leave the
    # first-token latency, which exists for streams alone.
    record.is_stream = ai_log.get("response_type") == "stream" or record.ttft_ms is not None
    if not blank(ai_log.get("session_id")):
        record.session_id = read_str(ai_log["session_id"], "session_id")
    if not record.user_agent and not blank(ai_log.get("user_agent")):
        record.user_agent = read_str(ai_log["user_agent"], "user_agent")
    if isinstance(ai_log.get("messages"), list):
        record.messages_count = len(ai_log["messages"])

    attributes: dict[str, Any] = {}
    for key in ("route", "cluster", "consumer"):
        value = ai_log.get(key)
        if blank(value):
            value = line.get({"route": "route_name", "cluster": "upstream_cluster"}.get(key, key))
        if not blank(value):
            attributes[key] = value
    for key in ("question", "answer", "reasoning"):
        if not blank(ai_log.get(key)):
            attributes[key] = ai_log[key]
    tool_calls = maybe_json(ai_log.get("tool_calls"))
    if tool_calls:
        attributes["tool_calls"] = tool_calls
    for key in ("input_token_details", "output_token_details"):
        details = maybe_json(ai_log.get(key))
        if details:
            attributes[key] = details
    for key, value in ai_log.items():
        if key not in _HANDLED and not blank(value):
            attributes[key] = value
    if isinstance(ai_log.get("messages"), list):
        attributes["messages"] = ai_log["messages"]
    record.attributes = attributes

    provider = ai_log.get("provider")
    if isinstance(provider, str) and not blank(provider):
        record.provider_name = provider
    record.provider_type = provider_type_from_name(
        record.provider_name or str(attributes.get("cluster", "")) or str(attributes.get("route", ""))
    )
    return finish(record)


def _read_line(record: CanonicalRecord, line: dict[str, Any]) -> None:
    """The Envoy access-log fields around ai_log."""
    for key in ("request_id", "x_request_id"):
        if not blank(line.get(key)):
            record.request_id = read_str(line[key], key)
            break
    if not blank(line.get("start_time")):
        record.created_at, record.created_at_field = read_time(line["start_time"], "start_time"), "start_time"
    if not blank(line.get("path")):
        # The query string can hold credentials (Gemini's ?key=); the endpoint is the path.
        try:
            record.endpoint = urlsplit(read_str(line["path"], "path")).path
        except ValueError:  # "//[..." reads as a malformed IPv6 host
            raise RecordError("path", "not a request path") from None
    code = read_opt_int(line.get("response_code"), "response_code")
    if code:  # Envoy logs 0 when no response was sent downstream
        record.status_code = read_status(code, "response_code")
    if not blank(line.get("user_agent")):
        record.user_agent = read_str(line["user_agent"], "user_agent")
    record.duration_ms = read_opt_int(line.get("duration"), "duration")
    if record.status_code is not None and record.status_code >= 400:
        details = [line.get(key) for key in ("response_flags", "response_code_details")]
        extra = ", ".join(str(value) for value in details if not blank(value) and value != "via_upstream")
        record.error_message = format_error(f"HTTP {record.status_code}", extra)


def _read_tokens(record: CanonicalRecord, ai_log: dict[str, Any]) -> None:
    prompt = read_count(ai_log.get("input_token"), "input_token")
    completion = read_count(ai_log.get("output_token"), "output_token")
    in_details = _details(ai_log, "input_token_details")
    out_details = _details(ai_log, "output_token_details")

    def detail(details: dict[str, Any], key: str, where: str) -> int:
        return read_count(details.get(key), f"{where}.{key}")

    if "cache_read_input_tokens" in in_details or "cache_creation_input_tokens" in in_details:
        record.input_tokens = prompt
        record.cache_read_tokens = detail(in_details, "cache_read_input_tokens", "input_token_details")
        record.cache_creation_tokens = detail(in_details, "cache_creation_input_tokens", "input_token_details")
        record.output_tokens = completion
    elif (
        "cached_content_token_count" in in_details
        or "tool_use_prompt_token_count" in in_details
        or "thoughts_token_count" in out_details
    ):
        cached = detail(in_details, "cached_content_token_count", "input_token_details")
        thoughts = detail(out_details, "thoughts_token_count", "output_token_details")
        uncached, _ = split_inclusive(prompt, cached)
        record.input_tokens = uncached + detail(in_details, "tool_use_prompt_token_count", "input_token_details")
        record.cache_read_tokens = cached
        record.output_tokens = completion + thoughts
        record.reasoning_tokens = thoughts
    else:
        if not blank(ai_log.get("cached_tokens")):
            cached = read_count(ai_log["cached_tokens"], "cached_tokens")
        else:
            cached = detail(in_details, "cached_tokens", "input_token_details")
        record.input_tokens, _ = split_inclusive(prompt, cached)
        record.cache_read_tokens = cached
        record.output_tokens = completion
        if not blank(ai_log.get("reasoning_tokens")):
            record.reasoning_tokens = read_count(ai_log["reasoning_tokens"], "reasoning_tokens")
        else:
            record.reasoning_tokens = detail(out_details, "reasoning_tokens", "output_token_details")


def _details(ai_log: dict[str, Any], key: str) -> dict[str, Any]:
    value = maybe_json(ai_log.get(key))
    return value if isinstance(value, dict) else {}
