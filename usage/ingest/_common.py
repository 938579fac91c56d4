"""Pieces every adapter shares: value readers that name the field they reject, SSE splitting,
header and session lookups, provider-type guessing, and the final sanity check of a record.

Integer policy (native and every adapter): a JSON integer, a float with no fractional part
(``12.0``, some encoders write those), or a string of decimal digits (gateways such as Higress
write every value as a string). Booleans, fractions and any other string are rejected.
``None`` means "not given" everywhere.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from usage.ingest.canonical import PROVIDER_TYPES, SESSION_HEADERS, CanonicalRecord, RecordError

# Column sizes the hub stores; longer values are refused rather than silently cut, because a cut
# request_id or session_id would merge unrelated rows.
MAX_LENGTHS = {
    "request_id": 128,
    "model": 128,
    "original_model": 128,
    "session_id": 128,
    "provider_name": 128,
    "endpoint": 255,
    "user_agent": 512,
    "user": 150,
    "blocked_by": 64,
}
# The error note of a stream that ended before its final usage event (the record says so
# with ``incomplete``); its token counts are those seen up to the cut.
INCOMPLETE_NOTE = "the stream ended before its final usage event; token counts are as far as known"
# Free-text diagnostics are worth keeping even when a provider returns a novel; they are cut.
TRUNCATED_LENGTHS = {"error_message": 4000, "blocked_reason": 4000}
MAX_PROVIDER_CHAIN = 50
MAX_ATTRIBUTE_KEY = 128
# PostgreSQL bigint: anything larger cannot be stored.
MAX_INT = 2**63 - 1

# Credentials must never reach the database just because a client sent its request headers.
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
    }
)

_INT_STRING = re.compile(r"[+-]?\d+")

TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_tokens",
    "cache_creation_5m_tokens",
    "cache_creation_1h_tokens",
    "cache_read_tokens",
    "reasoning_tokens",
)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "empty string" if value == "" else "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def read_int(value: Any, field: str, *, minimum: int = 0, maximum: int = MAX_INT) -> int:
    if isinstance(value, bool):
        raise RecordError(field, "must be an integer, not a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise RecordError(field, f"must be a whole number, got {value!r}")
        number = int(value)
    elif isinstance(value, str) and _INT_STRING.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise RecordError(field, f"must be an integer, got {type_name(value)}")
    if number < minimum:
        raise RecordError(field, "must not be negative" if minimum == 0 else f"must be at least {minimum}")
    if number > maximum:
        raise RecordError(field, f"must be at most {maximum}")
    return number


def read_count(value: Any, field: str) -> int:
    """A token count from provider or gateway data: absent, null, "" and "-" mean 0."""
    if value is None or value == "" or value == "-":
        return 0
    return read_int(value, field)


def read_opt_int(value: Any, field: str, *, minimum: int = 0, maximum: int = MAX_INT) -> int | None:
    if value is None or value == "" or value == "-":
        return None
    return read_int(value, field, minimum=minimum, maximum=maximum)


def read_status(value: Any, field: str) -> int | None:
    if value is None or value == "" or value == "-":
        return None
    return read_int(value, field, minimum=100, maximum=599)


def read_str(value: Any, field: str, *, max_len: int | None = None, truncate: bool = False) -> str:
    if not isinstance(value, str):
        raise RecordError(field, f"must be a string, got {type_name(value)}")
    if max_len is not None and len(value) > max_len:
        if truncate:
            return value[:max_len]
        raise RecordError(field, f"longer than {max_len} characters ({len(value)})")
    return value


def read_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise RecordError(field, f"must be true or false, got {type_name(value)}")
    return value


def read_time(value: Any, field: str) -> datetime:
    """An ISO-8601 timestamp WITH a zone, or unix seconds; returned in UTC."""
    if isinstance(value, bool):
        raise RecordError(field, "must be a timestamp, not a boolean")
    if isinstance(value, str) and _INT_STRING.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise RecordError(field, "must be a non-negative unix time in seconds")
        if value > 1e11:
            raise RecordError(field, "unix time must be in seconds; this looks like milliseconds")
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str):
        raise RecordError(field, f"must be an ISO-8601 string or unix seconds, got {type_name(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RecordError(field, f"not an ISO-8601 timestamp: {value[:40]!r}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise RecordError(field, "timestamp has no time zone; add Z or an offset")
    return parsed.astimezone(UTC)


def time_from_unix(value: Any, field: str, *, divisor: int) -> datetime | None:
    """Unix time in seconds/``divisor`` (1000 for ms, 10**9 for ns); 0 or absent gives None."""
    number = read_opt_int(value, field)
    if not number:
        return None
    try:
        return datetime.fromtimestamp(number / divisor, tz=UTC)
    except (OverflowError, ValueError, OSError):
        raise RecordError(field, "timestamp out of range") from None


def read_json_object(value: Any, field: str) -> dict[str, Any]:
    """A JSON object given either as a dict or as JSON-encoded text (gateways nest JSON in strings)."""
    if isinstance(value, str):
        try:
            value = load_json(value, field)
        except RecordError:
            raise
        except ValueError:
            raise RecordError(field, "not valid JSON") from None
    if not isinstance(value, dict):
        raise RecordError(field, f"must be a JSON object, got {type_name(value)}")
    return value


def maybe_json(value: Any) -> Any:
    """Decode a string that holds a JSON object or array; anything else is returned unchanged."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return load_json(value)
        except ValueError:  # not JSON, or nested too deep to be anything but text here
            return value
    return value


def sub(mapping: Any, key: str) -> dict[str, Any]:
    """``mapping[key]`` when it is an object, else an empty dict: provider bodies use null freely."""
    if isinstance(mapping, dict):
        value = mapping.get(key)
        if isinstance(value, dict):
            return value
    return {}


def array(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else an empty list: a body's lists may be anything."""
    return value if isinstance(value, list) else []


def string(value: Any) -> str:
    """``value`` when it is a string, else "": a body's names and ids may be anything."""
    return value if isinstance(value, str) else ""


def blank(value: Any) -> bool:
    """Envoy writes "-" for a field it has no value for."""
    return value is None or value == "" or value == "-"


# --- headers and sessions -------------------------------------------------------------------


def read_headers(value: Any, field: str = "headers") -> dict[str, str]:
    if not isinstance(value, dict):
        raise RecordError(field, f"must be an object of header names to values, got {type_name(value)}")
    headers: dict[str, str] = {}
    for name, raw in value.items():
        if not isinstance(name, str):
            raise RecordError(field, "header names must be strings")
        key = name.strip().lower()
        if key in SENSITIVE_HEADERS:
            continue
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            raw = ", ".join(raw)
        if not isinstance(raw, str):
            raise RecordError(f"{field}.{key}", f"must be a string, got {type_name(raw)}")
        headers[key] = raw.strip()
    return headers


def session_from_headers(headers: Mapping[str, Any] | None, extra_header: str = "") -> str:
    """The agent session id a request's headers carry, or "".

    ``extra_header`` (the one configured in SystemSettings) wins; then the agent headers Higress
    also honours, in its order. Header names match case-insensitively.
    """
    if not headers:
        return ""
    lowered = {str(name).strip().lower(): value for name, value in headers.items()}
    names = ([extra_header.strip().lower()] if extra_header.strip() else []) + list(SESSION_HEADERS)
    for name in names:
        value = lowered.get(name)
        if isinstance(value, list):
            value = value[0] if value else ""
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


# --- providers ------------------------------------------------------------------------------

# Checked in order: "anthropic" before "openai" so that e.g. "openai-compatible-claude" is not
# mistaken; Azure and Bedrock host several vendors, so they only match through a vendor word.
_PROVIDER_HINTS = (
    ("claude", ("anthropic", "claude")),
    ("gemini", ("gemini", "google", "vertex", "gcp")),
    ("qwen", ("qwen", "dashscope", "alibaba", "aliyun", "bailian", "tongyi")),
    ("deepseek", ("deepseek",)),
    ("openai", ("openai", "chatgpt", "codex")),
)


def provider_type_from_name(name: str) -> str:
    """The hub's provider type a provider/system/cluster name points at, or "" when unsure."""
    lowered = (name or "").strip().lower()
    if not lowered:
        return ""
    if lowered in PROVIDER_TYPES:
        return lowered
    for provider_type, words in _PROVIDER_HINTS:
        if any(word in lowered for word in words):
            return provider_type
    return ""


# --- message text ---------------------------------------------------------------------------

_TEXT_PART_TYPES = ("text", "input_text", "output_text")


def text_of(content: Any) -> str:
    """Plain text of an OpenAI/Anthropic/Gemini content value (string or list of parts)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    pieces = []
    for part in content:
        if isinstance(part, str):
            pieces.append(part)
        elif (
            isinstance(part, dict)
            and isinstance(part.get("text"), str)
            and part.get("type", "text") in _TEXT_PART_TYPES
            and not part.get("thought")
        ):
            pieces.append(part["text"])
    return "\n".join(piece for piece in pieces if piece)


def last_user_text(messages: Any, *, role_key: str = "role", content_key: str = "content") -> str:
    """Text of the last user-authored message that has any text.

    Tool results travel as user messages in Anthropic's and Gemini's formats; skipping
    text-less messages makes the "question" the human's ask of the current turn.
    """
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if not isinstance(message, dict):
            continue
        if message.get(role_key, "user") != "user":
            continue
        text = text_of(message.get(content_key))
        if text:
            return text
    return ""


# --- JSON and text PostgreSQL can store --------------------------------------------------------

# Records (and JSON nested in their strings) deeper than this are refused: nothing real nests
# so deep, and it keeps every later step (orjson writes at most 254 levels, Python's json
# about 1,000) well inside what it can handle.
MAX_JSON_DEPTH = 100
TOO_DEEP = f"nested deeper than {MAX_JSON_DEPTH} levels"
# PostgreSQL text and jsonb cannot hold U+0000, and a lone UTF-16 surrogate (what a JSON
# escape such as \ud800 without its pair decodes to) is not Unicode, so it has no UTF-8 form.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Values that name or identify something: a changed character would make them name something
# else (or merge two request ids), so a record carrying one is refused.
IDENTIFYING_FIELDS = (
    "request_id", "model", "original_model", "provider_name", "provider_type", "endpoint", "session_id", "user",
    "blocked_by",
)  # fmt: skip
# Free text: NUL characters are removed and lone surrogates replaced with U+FFFD (README).
FREE_TEXT_FIELDS = ("user_agent", "error_message", "blocked_reason")
# What orjson writes: a signed 64-bit integer, or an unsigned one.
_JSON_INTEGERS = (-(2**63), 2**64 - 1)


def load_json(text: str | bytes, field: str = "record", *, check_depth: bool = True) -> Any:
    """Parsed JSON: orjson for speed, the standard parser for what orjson refuses but JSON
    allows (integers past 64 bits, unpaired \\u escapes), so that such a value is one field's
    problem. Raises RecordError(field, TOO_DEEP) past MAX_JSON_DEPTH (or past what a parser
    accepts), ValueError (json.JSONDecodeError) for text that is not JSON."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            value = json.loads(text)
        except RecursionError:
            raise RecordError(field, TOO_DEEP) from None
    if check_depth:
        check_json_depth(value, field)
    return value


def check_json_depth(value: Any, field: str, limit: int = MAX_JSON_DEPTH) -> None:
    """RecordError(field, TOO_DEEP) when ``value`` nests more than ``limit`` arrays/objects."""
    if not isinstance(value, (dict, list)):
        return
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise RecordError(field, TOO_DEEP)
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))


def _unstorable_reason(text: str) -> str | None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (U+0000), which cannot be stored"
    return f"contains an unpaired UTF-16 surrogate (U+{ord(found.group()):04X}), which is not valid Unicode"


def repair_text(text: str) -> str:
    """The README's repair of free text: NUL characters removed, lone surrogates replaced with U+FFFD."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda found: "" if found.group() == "\x00" else "\ufffd", text)


def printable(text: str, limit: int = 200) -> str:
    """``text`` safe to echo back in an answer or a log: unstorable characters as \\u escapes, cut."""
    text = _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def storable_json(value: Any, field: str, depth: int = 1) -> Any:
    """``value`` as PostgreSQL's jsonb can hold it: strings repaired like free text, keys (which
    a repair could merge) refused when unstorable, integers past 64 bits and nesting past
    MAX_JSON_DEPTH refused. Returns the same object when nothing needed repair."""
    if isinstance(value, str):
        return repair_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        if not _JSON_INTEGERS[0] <= value <= _JSON_INTEGERS[1]:
            raise RecordError(field, "holds an integer larger than 64 bits")
        return value
    if depth > MAX_JSON_DEPTH:
        raise RecordError(field, TOO_DEEP)
    if isinstance(value, dict):
        repaired = {}
        for key, item in value.items():
            key = str(key)
            reason = _unstorable_reason(key)
            if reason:
                raise RecordError(field, f"a key {reason}")
            repaired[key] = storable_json(item, f"{field}.{key}" if depth == 1 else field, depth + 1)
        return repaired
    if isinstance(value, (list, tuple)):
        return [storable_json(item, field, depth + 1) for item in value]
    return value


def make_storable(record: CanonicalRecord) -> None:
    """Refuse identifying values PostgreSQL cannot store; repair free text and JSON (see above)."""
    values = [getattr(record, name) for name in IDENTIFYING_FIELDS + FREE_TEXT_FIELDS]
    if _UNSTORABLE.search("\n".join(value for value in values if value)) is not None:  # one search: the usual case
        for name, value in zip(IDENTIFYING_FIELDS, values, strict=False):
            reason = _unstorable_reason(value) if value else None
            if reason:
                raise RecordError(name, reason)
        for name in FREE_TEXT_FIELDS:
            setattr(record, name, repair_text(getattr(record, name)))
    record.attributes = storable_json(record.attributes, "attributes")
    if record.provider_chain is not None:
        record.provider_chain = storable_json(record.provider_chain, "provider_chain")


def tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    """Tool calls of every format in one shape (OpenAI's), arguments as the JSON text sent."""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
    return {"id": call_id or "", "type": "function", "function": {"name": name or "", "arguments": arguments}}


def format_error(kind: Any, message: Any) -> str:
    kind = str(kind) if kind not in (None, "") else ""
    message = message if isinstance(message, str) else (json.dumps(message) if message else "")
    if kind and message:
        return f"{kind}: {message}"
    return kind or message or "unknown error"


def split_inclusive(prompt: int, *cached: int) -> tuple[int, bool]:
    """Uncached input out of a prompt count that should include the cached parts.

    Returns (input_tokens, subtracted). When the cached parts exceed the prompt count the source
    evidently reported them beside it, not inside it (some OpenAI-compatible servers and OTel
    instrumentations do); subtracting would lose tokens, so the prompt count is taken as is.
    """
    cached_total = sum(cached)
    if cached_total <= prompt:
        return prompt - cached_total, True
    return prompt, False


# --- server-sent events ---------------------------------------------------------------------


def _load_event(data: str, field: str, number: int) -> list[dict[str, Any]]:
    try:
        loaded = load_json(data, field)
    except RecordError as error:
        raise RecordError(field, f"event {number}: {error.reason}") from None
    except ValueError:
        loaded = None
        lines = [line for line in data.split("\n") if line.strip()]
        if len(lines) > 1:
            # Logged streams sometimes lose the blank lines between events; each line then
            # carries one event of its own.
            try:
                return [item for line in lines for item in _load_event(line, field, number)]
            except RecordError:
                pass
        raise RecordError(field, f"event {number}: data is not valid JSON") from None
    if isinstance(loaded, list):
        return [item for item in loaded if isinstance(item, dict)]
    if not isinstance(loaded, dict):
        raise RecordError(field, f"event {number}: data must be a JSON object")
    return [loaded]


def iter_sse(text: str) -> Iterator[tuple[str, str]]:
    """(event name, data) pairs of an SSE text, following the WHATWG parsing rules."""
    event, data = "", []
    for raw_line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw_line == "":
            if data:
                yield event, "\n".join(data)
            event, data = "", []
            continue
        if raw_line.startswith(":"):
            continue
        name, _, value = raw_line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data:
        yield event, "\n".join(data)


def stream_events(value: Any, field: str = "stream") -> list[tuple[str, dict[str, Any]]]:
    """Events of a captured stream: SSE text, a JSON array text, or an already-parsed list."""
    if isinstance(value, list):
        events = []
        for position, item in enumerate(value):
            if not isinstance(item, dict):
                raise RecordError(field, f"chunk {position}: must be a JSON object")
            events.append((str(item.get("type", "")), item))
        return events
    if not isinstance(value, str):
        raise RecordError(field, f"must be SSE text or a list of chunks, got {type_name(value)}")
    stripped = value.strip()
    if not stripped:
        raise RecordError(field, "is empty")
    if stripped.startswith("["):
        try:
            loaded = load_json(stripped, field)
        except RecordError:
            raise
        except ValueError:
            raise RecordError(field, "starts like a JSON array but is not valid JSON") from None
        return stream_events(loaded, field)
    events = []
    for number, (name, data) in enumerate(iter_sse(value), start=1):
        if data.strip() == "[DONE]":
            continue
        for item in _load_event(data, field, number):
            events.append((name or str(item.get("type", "")), item))
    if not events:
        raise RecordError(field, "holds no data events")
    return events


# --- the fields a record may name, and the checks run on every record -------------------------

Reader = Callable[[Any, str], Any]


def _limited(field: str) -> Reader:
    return lambda value, name: read_str(value, name, max_len=MAX_LENGTHS[field])


def _cut(field: str) -> Reader:
    return lambda value, name: read_str(value, name, max_len=TRUNCATED_LENGTHS[field], truncate=True)


def _request_id(value: Any, field: str) -> str:
    text = read_str(value, field, max_len=MAX_LENGTHS["request_id"])
    if not text.strip():
        raise RecordError(field, "must not be empty")
    return text


def _provider_type(value: Any, field: str) -> str:
    text = read_str(value, field)
    if text and text not in PROVIDER_TYPES:
        raise RecordError(field, f"must be one of {', '.join(PROVIDER_TYPES)}")
    return text


def _provider_chain(value: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise RecordError(field, f"must be an array, got {type_name(value)}")
    if len(value) > MAX_PROVIDER_CHAIN:
        raise RecordError(field, f"more than {MAX_PROVIDER_CHAIN} entries")
    chain = []
    for position, hop in enumerate(value):
        where = f"{field}[{position}]"
        if not isinstance(hop, dict):
            raise RecordError(where, f"must be an object, got {type_name(hop)}")
        hop = dict(hop)
        if "provider" in hop:
            hop["provider"] = read_str(hop["provider"], f"{where}.provider", max_len=MAX_LENGTHS["provider_name"])
        if hop.get("status_code") is not None:
            hop["status_code"] = read_status(hop["status_code"], f"{where}.status_code")
        if hop.get("duration_ms") is not None:
            hop["duration_ms"] = read_int(hop["duration_ms"], f"{where}.duration_ms")
        chain.append(hop)
    return chain


def _attributes(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(field, f"must be an object, got {type_name(value)}")
    for key in value:
        if not isinstance(key, str) or not key or len(key) > MAX_ATTRIBUTE_KEY:
            raise RecordError(field, f"keys must be non-empty strings of at most {MAX_ATTRIBUTE_KEY} characters")
    return dict(value)


def _token(value: Any, field: str) -> int:
    return read_int(value, field)


STATUS_MIN, STATUS_MAX = 100, 599


def _status(value: Any, field: str) -> int:
    return read_int(value, field, minimum=STATUS_MIN, maximum=STATUS_MAX)


@dataclass(frozen=True)
class Field:
    """A field a record may carry: how it is validated, and how the API documentation shows it
    (``usage.api.serializers`` builds the OpenAPI schema from this table, so the documented
    limits are the enforced ones)."""

    attribute: str  # the CanonicalRecord attribute it fills
    read: Reader
    #: string, text (cut, never refused), integer, boolean, timestamp, provider_type, list, object, headers
    kind: str
    help: str = ""
    minimum: int | None = None
    maximum: int | None = None

    @property
    def max_length(self) -> int | None:
        return MAX_LENGTHS.get(self.attribute) or TRUNCATED_LENGTHS.get(self.attribute)


_TOKEN_HELP = {
    "input_tokens": "Billed at the full input rate: WITHOUT cache reads/writes.",
    "output_tokens": "Including reasoning tokens.",
    "cache_creation_tokens": "Written to the prompt cache (all TTLs).",
    "cache_creation_5m_tokens": "Part of cache_creation_tokens with a 5-minute TTL.",
    "cache_creation_1h_tokens": "Part of cache_creation_tokens with a 1-hour TTL.",
    "cache_read_tokens": "Served from the prompt cache.",
    "reasoning_tokens": "Part of output_tokens spent reasoning.",
}

# Field names a record (native) or an envelope may carry, with the reader that validates each.
FIELDS: dict[str, Field] = {
    "request_id": Field("request_id", _request_id, "string", "Unique per request; with created_at, the idempotency "
                        "key. Default: a digest of the record."),
    "created_at": Field("created_at", read_time, "timestamp", "ISO-8601 with a zone (Z or an offset), or unix "
                        "seconds. Default: arrival time."),
    "model": Field("model", _limited("model"), "string", "The model that ran."),
    "original_model": Field("original_model", _limited("original_model"), "string",
                            "The model the client asked for, when a gateway redirected it."),
    "provider": Field("provider_name", _limited("provider_name"), "string", "A provider's name in the hub."),
    "provider_name": Field("provider_name", _limited("provider_name"), "string", "The same as provider."),
    "provider_type": Field("provider_type", _provider_type, "provider_type"),
    "endpoint": Field("endpoint", _limited("endpoint"), "string"),
    "status_code": Field("status_code", _status, "integer", minimum=STATUS_MIN, maximum=STATUS_MAX),
    "is_stream": Field("is_stream", read_bool, "boolean"),
    "incomplete": Field("incomplete", read_bool, "boolean", "The stream ended before its final usage event: the "
                        "token counts are as far as known. The record gets an error note unless it has one."),
    **{name: Field(name, _token, "integer", _TOKEN_HELP[name], minimum=0, maximum=MAX_INT) for name in TOKEN_FIELDS},
    "duration_ms": Field("duration_ms", read_int, "integer", minimum=0, maximum=MAX_INT),
    "ttft_ms": Field("ttft_ms", read_int, "integer", "Time to first token, for streams.", minimum=0, maximum=MAX_INT),
    "session_id": Field("session_id", _limited("session_id"), "string"),
    "user": Field("user", _limited("user"), "string",
                  "Only with an admin's key: the username, or the end user's key prefix, it belongs to."),
    "user_agent": Field("user_agent", _limited("user_agent"), "string"),
    "messages_count": Field("messages_count", read_int, "integer", minimum=0, maximum=MAX_INT),
    "error_message": Field("error_message", _cut("error_message"), "text"),
    "blocked_by": Field("blocked_by", _limited("blocked_by"), "string"),
    "blocked_reason": Field("blocked_reason", _cut("blocked_reason"), "text"),
    "provider_chain": Field("provider_chain", _provider_chain, "list",
                            f"The providers tried, in order (at most {MAX_PROVIDER_CHAIN})."),
    "attributes": Field("attributes", _attributes, "object", "question, answer, tool_calls, reasoning (kept when "
                        "message storage is on) and custom keys."),
    "headers": Field("headers", read_headers, "headers", "Request headers; a session id is read from them, "
                     "credentials are dropped."),
}  # fmt: skip


def apply_fields(record: CanonicalRecord, obj: Mapping[str, Any], names: set[str] | frozenset[str]) -> None:
    """Validate ``obj``'s values for ``names`` and set them on ``record``; null means absent."""
    if "provider" in obj and "provider_name" in obj and obj["provider"] != obj["provider_name"]:
        raise RecordError("provider_name", "given twice (provider and provider_name) with different values")
    for name, value in obj.items():  # the record's few keys, not every field there is
        if value is None or name not in names:
            continue
        spec = FIELDS[name]
        setattr(record, spec.attribute, spec.read(value, name))


def finish(record: CanonicalRecord) -> CanonicalRecord:
    """Checks every adapter's output passes: lengths, ranges, the cache split, session fallback."""
    for name, limit in MAX_LENGTHS.items():
        value = getattr(record, name)
        if value and len(value) > limit:
            raise RecordError(name, f"longer than {limit} characters ({len(value)})")
    for name, limit in TRUNCATED_LENGTHS.items():
        setattr(record, name, getattr(record, name)[:limit])
    for name in TOKEN_FIELDS:
        if getattr(record, name) < 0:
            raise RecordError(name, "must not be negative")
    split = record.cache_creation_5m_tokens + record.cache_creation_1h_tokens
    if split > record.cache_creation_tokens:
        raise RecordError(
            "cache_creation_tokens",
            f"smaller than cache_creation_5m_tokens + cache_creation_1h_tokens ({split})",
        )
    if record.status_code is not None and not 100 <= record.status_code <= 599:
        raise RecordError("status_code", "must be between 100 and 599")
    if record.original_model == record.model:
        record.original_model = ""
    if record.incomplete and not record.error_message:
        record.error_message = INCOMPLETE_NOTE
    if not record.session_id:
        record.session_id = session_from_headers(record.headers)
        if len(record.session_id) > MAX_LENGTHS["session_id"]:
            raise RecordError("session_id", f"longer than {MAX_LENGTHS['session_id']} characters")
    if not record.user_agent and record.headers.get("user-agent"):
        record.user_agent = record.headers["user-agent"][: MAX_LENGTHS["user_agent"]]
    make_storable(record)
    return record
