"""Gemini generateContent / streamGenerateContent: request + response body, or request + stream.

A stream is SSE (``?alt=sse``: one ``data: {...}`` per chunk) or, without ``alt=sse``, one JSON
array of chunks. Token mapping (promptTokenCount INCLUDES cachedContentTokenCount;
candidatesTokenCount EXCLUDES thoughtsTokenCount; toolUsePromptTokenCount is counted beside
the prompt):

* input = promptTokenCount - cachedContentTokenCount + toolUsePromptTokenCount,
  cache_read = cachedContentTokenCount,
  output = candidatesTokenCount + thoughtsTokenCount, reasoning = thoughtsTokenCount.

So the canonical total equals totalTokenCount. Stream chunks repeat usageMetadata with running
totals: the last one is taken, never a sum.
"""

from __future__ import annotations

from typing import Any

from usage.ingest._common import (
    array,
    format_error,
    last_user_text,
    read_count,
    split_inclusive,
    string,
    sub,
    tool_call,
)
from usage.ingest._envelope import Reply, asked_model, build_record, messages_count, read_envelope
from usage.ingest.canonical import CanonicalRecord

# google.rpc status names, for error bodies that carry no numeric code.
ERROR_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


def parse_gemini(obj: dict[str, Any]) -> CanonicalRecord:
    envelope = read_envelope(obj)
    # Gemini names models "models/gemini-2.5-flash" in places; the hub prices the bare name.
    envelope.meta.model = _bare(asked_model(envelope))
    chunks = [data for _, data in envelope.events] if envelope.events is not None else [envelope.response or {}]
    reply = _read_chunks(chunks, "stream" if envelope.is_stream else "response")
    model = envelope.meta.model or reply.model
    method = "streamGenerateContent" if envelope.is_stream else "generateContent"
    contents = envelope.request.get("contents")
    return build_record(
        envelope,
        reply,
        provider_type="gemini",
        endpoint=f"/v1beta/models/{model}:{method}" if model else "",
        question=last_user_text(contents, content_key="parts"),
        messages=messages_count(contents),
    )


def _bare(model: str) -> str:
    return model.removeprefix("models/")


def _apply_usage(reply: Reply, usage: dict[str, Any], where: str) -> None:
    prompt = read_count(usage.get("promptTokenCount"), f"{where}.promptTokenCount")
    cached = read_count(usage.get("cachedContentTokenCount"), f"{where}.cachedContentTokenCount")
    tool_prompt = read_count(usage.get("toolUsePromptTokenCount"), f"{where}.toolUsePromptTokenCount")
    candidates = read_count(usage.get("candidatesTokenCount"), f"{where}.candidatesTokenCount")
    thoughts = read_count(usage.get("thoughtsTokenCount"), f"{where}.thoughtsTokenCount")
    uncached, _ = split_inclusive(prompt, cached)
    reply.input_tokens = uncached + tool_prompt
    reply.cache_read_tokens = cached
    reply.output_tokens = candidates + thoughts
    reply.reasoning_tokens = thoughts


def _apply_error(reply: Reply, error: Any) -> None:
    if isinstance(error, dict):
        reply.error_message = format_error(error.get("status"), error.get("message"))
        code = error.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599:
            reply.error_status = code
        else:
            reply.error_status = ERROR_STATUS.get(str(error.get("status")))
    elif error:
        reply.error_message = format_error("", str(error))


def _read_chunks(chunks: list[dict[str, Any]], where: str) -> Reply:
    reply = Reply()
    answers: dict[int, list[str]] = {}
    thoughts: dict[int, list[str]] = {}
    finished = False
    for number, chunk in enumerate(chunks, start=1):
        label = f"{where} chunk {number}" if len(chunks) > 1 else where
        if chunk.get("error"):
            _apply_error(reply, chunk["error"])
            continue
        reply.model = _bare(string(chunk.get("modelVersion")) or reply.model)
        reply.response_id = reply.response_id or string(chunk.get("responseId"))
        if isinstance(chunk.get("usageMetadata"), dict):
            _apply_usage(reply, chunk["usageMetadata"], f"{label}.usageMetadata")
        block = sub(chunk, "promptFeedback").get("blockReason")
        if block:
            # The provider refused the prompt itself; no candidate follows.
            reply.blocked_by = "provider"
            reply.blocked_reason = format_error(block, sub(chunk, "promptFeedback").get("blockReasonMessage"))
        for position, candidate in enumerate(array(chunk.get("candidates"))):
            if not isinstance(candidate, dict):
                continue
            finished = finished or bool(candidate.get("finishReason"))
            index = candidate.get("index", position)
            index = index if isinstance(index, int) else position
            for part in array(sub(candidate, "content").get("parts")):
                if not isinstance(part, dict):
                    continue
                if isinstance(part.get("text"), str):
                    target = thoughts if part.get("thought") else answers
                    target.setdefault(index, []).append(part["text"])
                if isinstance(part.get("functionCall"), dict):
                    call = part["functionCall"]
                    reply.tool_calls.append(tool_call(call.get("id", ""), call.get("name", ""), call.get("args") or {}))
    reply.answer = "\n".join("".join(parts) for _, parts in sorted(answers.items()) if "".join(parts))
    reply.reasoning = "\n".join("".join(parts) for _, parts in sorted(thoughts.items()) if "".join(parts))
    # The last chunk of a whole stream names a finishReason (beside the final usageMetadata).
    reply.incomplete = not (finished or reply.error_message or reply.blocked_reason)
    return reply
