"""Which adapter a record needs, when the sender did not say, and the dispatcher for single records.

Detection answers only where the shape leaves no doubt, and ``None`` otherwise: a wrong guess
would store wrong token counts, while ``None`` makes the caller ask the sender to name the format.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from usage.ingest._common import load_json, session_from_headers
from usage.ingest.anthropic import parse_anthropic
from usage.ingest.canonical import FORMATS, CanonicalRecord, RecordError
from usage.ingest.gemini import parse_gemini
from usage.ingest.higress import parse_higress
from usage.ingest.native import parse_native
from usage.ingest.openai import parse_openai

__all__ = ["detect_format", "parse_record", "session_from_headers"]

SINGLE_RECORD_PARSERS: dict[str, Callable[[Any], CanonicalRecord]] = {
    "native": parse_native,
    "higress": parse_higress,
    "openai": parse_openai,
    "anthropic": parse_anthropic,
    "gemini": parse_gemini,
}

_GEMINI_KEYS = ("usageMetadata", "candidates", "modelVersion", "promptFeedback")


def detect_format(obj: Any) -> str | None:
    """One of ``canonical.FORMATS`` when the shape is unambiguous, else None."""
    if isinstance(obj, (str, bytes)):
        try:
            obj = load_json(obj)
        except ValueError:
            return None
    if not isinstance(obj, dict):
        return None
    if "ai_log" in obj:
        return "higress"
    if ("input_token" in obj or "output_token" in obj) and not ({"input_tokens", "output_tokens"} & obj.keys()):
        return "higress"  # a bare ai_log object: Higress alone spells the counts in the singular
    if "resourceSpans" in obj:
        return "otlp"
    if obj.get("type") == "session" and "cwd" in obj:
        return "openclaw"
    if obj.get("type") == "message" and isinstance(obj.get("message"), dict) and "parentId" in obj:
        return "openclaw"
    if "response" in obj or "stream" in obj:
        return _envelope_format(obj)
    return "native"


def _envelope_format(obj: dict[str, Any]) -> str | None:
    response = obj.get("response")
    if isinstance(response, dict):
        found = _body_format(response)
        if found:
            return found
    stream = obj.get("stream")
    if isinstance(stream, list):
        stream = json.dumps(stream[:20])
    if isinstance(stream, str):
        if "message_start" in stream:
            return "anthropic"
        if "chat.completion.chunk" in stream or "response.created" in stream or "response.completed" in stream:
            return "openai"
        if any(f'"{key}"' in stream for key in _GEMINI_KEYS):
            return "gemini"
    request = obj.get("request")
    if isinstance(request, dict):
        if "contents" in request:
            return "gemini"
        if "input" in request and "messages" not in request:
            return "openai"
    return None


def _body_format(body: dict[str, Any]) -> str | None:
    if any(key in body for key in _GEMINI_KEYS):
        return "gemini"
    if body.get("type") == "message" or (body.get("type") == "error" and isinstance(body.get("error"), dict)):
        return "anthropic"
    if body.get("object") in ("chat.completion", "response") or "choices" in body:
        return "openai"
    error = body.get("error")
    if isinstance(error, dict) and "type" not in body:
        # Google errors carry an RPC status name beside the numeric code; OpenAI's do not.
        return "gemini" if isinstance(error.get("status"), str) else "openai"
    return None


def parse_record(obj: Any, fmt: str | None = None) -> CanonicalRecord:
    """One canonical record from one input record, in ``fmt`` or the detected format."""
    if fmt is None:
        fmt = detect_format(obj)
        if fmt is None:
            raise RecordError("format", "cannot tell the format of this record; name it explicitly")
    if fmt in ("openclaw", "otlp"):
        raise RecordError("format", f"{fmt} input holds many records and is parsed as a whole, not per record")
    if fmt not in SINGLE_RECORD_PARSERS:
        raise RecordError("format", f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if isinstance(obj, (str, bytes)) and fmt != "higress":
        try:
            obj = load_json(obj)
        except RecordError:
            raise
        except ValueError:
            raise RecordError("record", "not valid JSON") from None
    return SINGLE_RECORD_PARSERS[fmt](obj)
