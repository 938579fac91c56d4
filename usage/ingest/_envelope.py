"""The envelope the provider-body adapters (OpenAI, Anthropic, Gemini) share.

    {"request": {...request body...},
     "response": {...response body...}  OR  "stream": "<raw SSE text>" | [chunk, ...],
     optional: request_id, created_at, status_code, duration_ms, ttft_ms, headers, endpoint,
               session_id, user, user_agent, provider, provider_type, model, attributes}

The optional keys are validated exactly as the native format validates them. ``model`` is the
model the client asked for (Gemini bodies do not carry it; it is in the URL). Unknown keys are
rejected, so a misspelt one is reported instead of ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from usage.ingest._common import (
    MAX_LENGTHS,
    TOKEN_FIELDS,
    apply_fields,
    finish,
    provider_type_from_name,
    read_json_object,
    stream_events,
    type_name,
)
from usage.ingest.canonical import CanonicalRecord, RecordError

META_FIELDS = frozenset(
    {
        "request_id",
        "created_at",
        "status_code",
        "duration_ms",
        "ttft_ms",
        "headers",
        "endpoint",
        "session_id",
        "user",
        "user_agent",
        "provider",
        "provider_type",
        "model",
        "attributes",
        "incomplete",
    }
)
ENVELOPE_FIELDS = META_FIELDS | {"request", "response", "stream"}


@dataclass
class Envelope:
    request: dict[str, Any]
    response: dict[str, Any] | None
    events: list[tuple[str, dict[str, Any]]] | None  # (SSE event name, data) when streamed
    meta: CanonicalRecord  # the envelope's own fields, already validated
    given: frozenset[str]  # which meta fields the envelope named

    @property
    def is_stream(self) -> bool:
        return self.events is not None


def read_envelope(obj: Any) -> Envelope:
    if not isinstance(obj, dict):
        raise RecordError("record", f"must be a JSON object, got {type_name(obj)}")
    for key in obj:
        if key not in ENVELOPE_FIELDS:
            raise RecordError(str(key), "unknown field")
    has_response = obj.get("response") is not None
    has_stream = obj.get("stream") is not None
    if has_response and has_stream:
        raise RecordError("stream", "give either response or stream, not both")
    if not has_response and not has_stream:
        raise RecordError("response", "missing: give the response body or the captured stream")
    request = read_json_object(obj["request"], "request") if obj.get("request") is not None else {}
    response = read_json_object(obj["response"], "response") if has_response else None
    events = stream_events(obj["stream"], "stream") if has_stream else None
    meta = CanonicalRecord()
    given = frozenset(name for name in META_FIELDS if obj.get(name) is not None)
    apply_fields(meta, obj, given)
    return Envelope(request=request, response=response, events=events, meta=meta, given=given)


def asked_model(envelope: Envelope) -> str:
    """The model the client asked for: the envelope's ``model``, else the request body's."""
    if envelope.meta.model:
        return envelope.meta.model
    model = envelope.request.get("model")
    return model if isinstance(model, str) else ""


def messages_count(value: Any) -> int | None:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, str) and value:
        return 1
    return None


@dataclass
class Reply:
    """What an adapter read from a response body or stream, before the envelope is applied."""

    model: str = ""
    response_id: str = ""
    created_at: datetime | None = None
    created_at_field: str = ""  # where in the body the time was read
    answer: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    error_message: str = ""
    error_status: int | None = None
    blocked_by: str = ""
    blocked_reason: str = ""
    incomplete: bool = False  # a stream cut before the provider's final (usage) event, not by an error
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_creation_5m_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    cache_read_tokens: int = 0
    reasoning_tokens: int = 0


def build_record(
    envelope: Envelope,
    reply: Reply,
    *,
    provider_type: str,
    endpoint: str,
    question: str,
    messages: int | None,
) -> CanonicalRecord:
    """Merge a reply with its envelope: the envelope's explicit fields win over what was read."""
    record = replace(envelope.meta)
    asked = asked_model(envelope)
    record.model = reply.model or asked
    record.original_model = asked if asked and asked != record.model else ""
    if record.request_id is None and reply.response_id and len(reply.response_id) <= MAX_LENGTHS["request_id"]:
        record.request_id = reply.response_id
    if record.created_at is None and reply.created_at is not None:
        record.created_at, record.created_at_field = reply.created_at, reply.created_at_field
    record.is_stream = envelope.is_stream
    # A cut stream began with a 200 and keeps it (when none was captured); finish() adds the note.
    record.incomplete = record.incomplete or (envelope.is_stream and reply.incomplete)
    for name in TOKEN_FIELDS:
        setattr(record, name, getattr(reply, name))
    record.error_message = reply.error_message
    record.blocked_by = reply.blocked_by
    record.blocked_reason = reply.blocked_reason
    if "status_code" not in envelope.given:
        # No HTTP status was captured: a failure gets the status its error type is sent with,
        # a success 200, so availability statistics still see it.
        record.status_code = (reply.error_status or 500) if reply.error_message else 200
    elif record.status_code is not None and record.status_code >= 400 and not record.error_message:
        # The body was no recognisable error object (a proxy's page, an empty body): the
        # captured status is the only diagnosis there is.
        record.error_message = f"HTTP {record.status_code}"
    if not record.provider_type:
        record.provider_type = provider_type_from_name(record.provider_name) or provider_type
    if not record.endpoint:
        record.endpoint = endpoint
    record.messages_count = messages
    built = {
        "question": question,
        "answer": reply.answer,
        "tool_calls": reply.tool_calls,
        "reasoning": reply.reasoning,
    }
    attributes = {key: value for key, value in built.items() if value}
    attributes.update(record.attributes)  # what the sender said explicitly wins
    record.attributes = attributes
    return finish(record)
