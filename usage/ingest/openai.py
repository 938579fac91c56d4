"""OpenAI Chat Completions and Responses API: request + response body, or request + SSE stream.

Token mapping (OpenAI counts cached tokens INSIDE the prompt and reasoning INSIDE the output):

* Chat: input = prompt_tokens - prompt_tokens_details.cached_tokens, cache_read = cached_tokens,
  output = completion_tokens, reasoning = completion_tokens_details.reasoning_tokens.
* Responses: the same with input_tokens / input_tokens_details.cached_tokens / output_tokens /
  output_tokens_details.reasoning_tokens.
* OpenAI-compatible servers: DeepSeek's prompt_cache_hit_tokens stands in for cached_tokens;
  DashScope's prompt_tokens_details.cache_creation_input_tokens is a cache write inside the prompt.

So input + cache_read + output equals the provider's total_tokens. In a stream the last chunk
carrying ``usage`` wins, whether or not it still carries choices.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from usage.ingest._common import (
    array,
    format_error,
    last_user_text,
    provider_type_from_name,
    read_count,
    split_inclusive,
    string,
    sub,
    text_of,
    time_from_unix,
    tool_call,
)
from usage.ingest._envelope import Envelope, Reply, asked_model, build_record, messages_count, read_envelope
from usage.ingest.canonical import CanonicalRecord

CHAT_ENDPOINT = "/v1/chat/completions"
RESPONSES_ENDPOINT = "/v1/responses"

# HTTP status OpenAI sends each error with, for records that did not capture the status.
ERROR_STATUS = {
    "invalid_request_error": 400,
    "invalid_api_key": 401,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "model_not_found": 404,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "rate_limit_error": 429,
    "server_error": 500,
    "api_error": 500,
    "service_unavailable": 503,
    "overloaded": 503,
}


def parse_openai(obj: dict[str, Any]) -> CanonicalRecord:
    envelope = read_envelope(obj)
    responses_api = _is_responses_api(envelope)
    if envelope.events is not None:
        if responses_api:
            reply = _responses_stream(envelope.events)
        else:
            wants_usage = sub(envelope.request, "stream_options").get("include_usage") is True
            reply = _chat_stream(envelope.events, wants_usage=wants_usage)
    else:
        body = envelope.response or {}
        reply = _responses_body(body, "response") if responses_api else _chat_body(body)
    request = envelope.request
    if responses_api:
        question = _responses_question(request.get("input"))
        count = messages_count(request.get("input"))
    else:
        question = last_user_text(request.get("messages"))
        count = messages_count(request.get("messages"))
    return build_record(
        envelope,
        reply,
        provider_type=_compatible_vendor(reply.model or asked_model(envelope)) or "openai",
        endpoint=RESPONSES_ENDPOINT if responses_api else CHAT_ENDPOINT,
        question=question,
        messages=count,
    )


def _compatible_vendor(model: str) -> str:
    """DeepSeek and Qwen serve their own models through OpenAI's format; their names say so."""
    vendor = provider_type_from_name(model.split("/")[-1])
    return vendor if vendor in ("deepseek", "qwen") else ""


def _is_responses_api(envelope: Envelope) -> bool:
    if envelope.response is not None:
        body = envelope.response
        if body.get("object") == "response" or "output" in body:
            return True
        if "choices" in body or body.get("object") == "chat.completion":
            return False
    elif envelope.events:
        return any(
            name.startswith("response.") or str(data.get("type", "")).startswith("response.")
            for name, data in envelope.events
        )
    return "input" in envelope.request and "messages" not in envelope.request


def _apply_usage(reply: Reply, usage: dict[str, Any], where: str) -> None:
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        prompt = read_count(usage.get("prompt_tokens"), f"{where}.prompt_tokens")
        output = read_count(usage.get("completion_tokens"), f"{where}.completion_tokens")
        details = sub(usage, "prompt_tokens_details")
        cached = read_count(details.get("cached_tokens"), f"{where}.prompt_tokens_details.cached_tokens")
        if not cached and usage.get("prompt_cache_hit_tokens") is not None:
            cached = read_count(usage["prompt_cache_hit_tokens"], f"{where}.prompt_cache_hit_tokens")
        written = read_count(
            details.get("cache_creation_input_tokens"),
            f"{where}.prompt_tokens_details.cache_creation_input_tokens",
        )
        reasoning = read_count(
            sub(usage, "completion_tokens_details").get("reasoning_tokens"),
            f"{where}.completion_tokens_details.reasoning_tokens",
        )
    else:
        prompt = read_count(usage.get("input_tokens"), f"{where}.input_tokens")
        output = read_count(usage.get("output_tokens"), f"{where}.output_tokens")
        cached = read_count(
            sub(usage, "input_tokens_details").get("cached_tokens"),
            f"{where}.input_tokens_details.cached_tokens",
        )
        written = 0
        reasoning = read_count(
            sub(usage, "output_tokens_details").get("reasoning_tokens"),
            f"{where}.output_tokens_details.reasoning_tokens",
        )
    total = usage.get("total_tokens")
    if reasoning and total is not None and read_count(total, f"{where}.total_tokens") == prompt + output + reasoning:
        # Some OpenAI-compatible servers count reasoning beside completion_tokens, not inside;
        # their own total gives it away, and the hub's output includes reasoning.
        output += reasoning
    reply.input_tokens, _ = split_inclusive(prompt, cached, written)
    reply.cache_read_tokens = cached
    reply.cache_creation_tokens = written
    reply.output_tokens = output
    reply.reasoning_tokens = reasoning


def _apply_error(reply: Reply, error: Any) -> None:
    if isinstance(error, dict):
        kind = error.get("code") or error.get("type")
        reply.error_message = format_error(kind, error.get("message"))
        reply.error_status = ERROR_STATUS.get(str(error.get("code"))) or ERROR_STATUS.get(str(error.get("type")))
    elif error:
        reply.error_message = format_error("", str(error))


def _created(value: Any, where: str) -> datetime | None:
    return time_from_unix(value, where, divisor=1) if value is not None else None


# --- Chat Completions -----------------------------------------------------------------------


def _chat_body(body: dict[str, Any]) -> Reply:
    reply = Reply()
    if body.get("error"):
        _apply_error(reply, body["error"])
    reply.model = string(body.get("model"))
    reply.response_id = string(body.get("id"))
    reply.created_at, reply.created_at_field = _created(body.get("created"), "response.created"), "response.created"
    if isinstance(body.get("usage"), dict):
        _apply_usage(reply, body["usage"], "response.usage")
    answers, reasonings = [], []
    for choice in array(body.get("choices")):
        message = sub(choice, "message")
        answers.append(text_of(message.get("content")) or string(message.get("refusal")))
        reasonings.append(message.get("reasoning_content") or message.get("reasoning") or "")
        for call in array(message.get("tool_calls")):
            function = sub(call, "function")
            reply.tool_calls.append(
                tool_call(call.get("id", ""), function.get("name", ""), function.get("arguments", ""))
            )
        if isinstance(message.get("function_call"), dict):
            legacy = message["function_call"]
            reply.tool_calls.append(tool_call("", legacy.get("name", ""), legacy.get("arguments", "")))
    reply.answer = "\n".join(text for text in answers if text)
    reply.reasoning = "\n".join(text for text in reasonings if isinstance(text, str) and text)
    return reply


def _chat_stream(events: list[tuple[str, dict[str, Any]]], *, wants_usage: bool) -> Reply:
    """A chat stream ends with a choice's finish_reason, then (when the request asked for it
    with stream_options.include_usage) one chunk carrying the usage."""
    reply = Reply()
    finished = usage_seen = False
    answers: dict[int, list[str]] = {}
    reasonings: dict[int, list[str]] = {}
    calls: dict[tuple[int, int], dict[str, Any]] = {}
    for number, (_, chunk) in enumerate(events, start=1):
        if chunk.get("error"):
            _apply_error(reply, chunk["error"])
            continue
        reply.model = string(chunk.get("model")) or reply.model
        reply.response_id = reply.response_id or string(chunk.get("id"))
        if reply.created_at is None and chunk.get("created") is not None:
            reply.created_at_field = f"stream chunk {number}.created"
            reply.created_at = _created(chunk["created"], reply.created_at_field)
        if isinstance(chunk.get("usage"), dict):
            _apply_usage(reply, chunk["usage"], f"stream chunk {number}.usage")
            usage_seen = True
        for choice in array(chunk.get("choices")):
            finished = finished or bool(isinstance(choice, dict) and choice.get("finish_reason"))
            index = choice.get("index", 0) if isinstance(choice, dict) else 0
            index = index if isinstance(index, int) else 0
            delta = sub(choice, "delta") or sub(choice, "message")
            if isinstance(delta.get("content"), str):
                answers.setdefault(index, []).append(delta["content"])
            for key in ("reasoning_content", "reasoning"):
                if isinstance(delta.get(key), str):
                    reasonings.setdefault(index, []).append(delta[key])
            for position, fragment in enumerate(array(delta.get("tool_calls"))):
                if not isinstance(fragment, dict):
                    continue
                order = fragment.get("index", position)
                slot = calls.setdefault((index, order if isinstance(order, int) else position), _new_slot())
                _merge_call_fragment(slot, fragment.get("id"), sub(fragment, "function"))
            if isinstance(delta.get("function_call"), dict):
                slot = calls.setdefault((index, -1), _new_slot())  # the deprecated single function_call
                _merge_call_fragment(slot, None, delta["function_call"])
    reply.answer = "\n".join("".join(parts) for _, parts in sorted(answers.items()) if "".join(parts))
    reply.reasoning = "\n".join("".join(parts) for _, parts in sorted(reasonings.items()) if "".join(parts))
    reply.tool_calls = [tool_call(slot["id"], slot["name"], "".join(slot["args"])) for _, slot in sorted(calls.items())]
    reply.incomplete = not reply.error_message and (not (finished or usage_seen) or (wants_usage and not usage_seen))
    return reply


def _slot_key(value: Any) -> Any:
    """An output index or item id to group a call's events by; anything else groups as None."""
    return value if isinstance(value, (int, str)) else None


def _new_slot() -> dict[str, Any]:
    return {"id": "", "name": "", "args": []}


def _merge_call_fragment(slot: dict[str, Any], call_id: Any, function: dict[str, Any]) -> None:
    if isinstance(call_id, str) and call_id:
        slot["id"] = call_id
    # The name arrives whole in the first fragment; a server repeating it must not double it.
    if isinstance(function.get("name"), str) and function["name"]:
        slot["name"] = function["name"]
    if isinstance(function.get("arguments"), str):
        slot["args"].append(function["arguments"])


# --- Responses API --------------------------------------------------------------------------


def _responses_question(value: Any) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        return ""
    messages = [item for item in value if isinstance(item, dict) and item.get("type", "message") == "message"]
    return last_user_text(messages)


def _read_output(reply: Reply, output: Any) -> None:
    answers, reasonings = [], []
    reply.tool_calls = []
    for item in array(output):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            answers.append(text_of(item.get("content")))
        elif kind == "reasoning":
            reasonings.append(
                text_of(
                    [
                        {"type": "text", "text": part.get("text")}
                        for part in array(item.get("summary")) + array(item.get("content"))
                        if isinstance(part, dict)
                    ]
                )
            )
        elif kind == "function_call":
            reply.tool_calls.append(
                tool_call(item.get("call_id") or item.get("id", ""), item.get("name", ""), item.get("arguments", ""))
            )
        elif kind == "custom_tool_call":
            reply.tool_calls.append(
                tool_call(item.get("call_id") or item.get("id", ""), item.get("name", ""), item.get("input", ""))
            )
    reply.answer = "\n".join(text for text in answers if text)
    reply.reasoning = "\n".join(text for text in reasonings if text)


def _responses_body(body: dict[str, Any], where: str) -> Reply:
    reply = Reply()
    _read_response_object(reply, body, where)
    _read_output(reply, body.get("output"))
    return reply


def _read_response_object(reply: Reply, body: dict[str, Any], where: str) -> None:
    if body.get("error"):
        _apply_error(reply, body["error"])
    elif body.get("status") == "failed":
        reply.error_message = "response failed"
    reply.model = string(body.get("model")) or reply.model
    reply.response_id = string(body.get("id")) or reply.response_id
    if body.get("created_at") is not None:
        reply.created_at_field = f"{where}.created_at"
        reply.created_at = _created(body["created_at"], reply.created_at_field)
    if isinstance(body.get("usage"), dict):
        _apply_usage(reply, body["usage"], f"{where}.usage")


def _responses_stream(events: list[tuple[str, dict[str, Any]]]) -> Reply:
    reply = Reply()
    answer: list[str] = []
    reasoning: list[str] = []
    calls: dict[Any, dict[str, Any]] = {}
    final: dict[str, Any] | None = None
    for number, (name, event) in enumerate(events, start=1):
        kind = event.get("type") or name
        if kind == "error":
            _apply_error(reply, event.get("error") if isinstance(event.get("error"), dict) else event)
        elif kind in ("response.created", "response.in_progress"):
            _read_response_object(reply, sub(event, "response"), f"stream event {number}.response")
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            final = sub(event, "response")
            _read_response_object(reply, final, f"stream event {number}.response")
        elif kind == "response.output_text.delta" and isinstance(event.get("delta"), str):
            answer.append(event["delta"])
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            if isinstance(event.get("delta"), str):
                reasoning.append(event["delta"])
        elif kind in ("response.output_item.added", "response.output_item.done"):
            item = sub(event, "item")
            if item.get("type") == "function_call":
                slot = calls.setdefault(_slot_key(event.get("output_index", item.get("id"))), _new_slot())
                slot["id"] = item.get("call_id") or slot["id"]
                slot["name"] = item.get("name") or slot["name"]
                if kind == "response.output_item.done" and isinstance(item.get("arguments"), str):
                    slot["args"] = [item["arguments"]]
        elif kind == "response.function_call_arguments.delta" and isinstance(event.get("delta"), str):
            calls.setdefault(_slot_key(event.get("output_index")), _new_slot())["args"].append(event["delta"])
        elif kind == "response.function_call_arguments.done" and isinstance(event.get("arguments"), str):
            # The done event repeats the whole argument text: it replaces the fragments.
            calls.setdefault(_slot_key(event.get("output_index")), _new_slot())["args"] = [event["arguments"]]
    reply.answer = "".join(answer)
    reply.reasoning = "".join(reasoning)
    reply.tool_calls = [tool_call(slot["id"], slot["name"], "".join(slot["args"])) for slot in calls.values()]
    if final and not answer and not calls and final.get("output"):
        # A stream captured without its delta events still has everything in the final object.
        _read_output(reply, final.get("output"))
    # response.completed / .incomplete / .failed carry the usage and end every stream.
    reply.incomplete = final is None and not reply.error_message
    return reply
