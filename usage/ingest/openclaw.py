"""OpenClaw (pi coding agent) session files: ``agents/<agent>/sessions/<session id>.jsonl``.

Line 1 is the session header ``{"type": "session", "id": ...}``; then one entry per line, linked
into a tree by ``id`` / ``parentId``. An assistant ``message`` entry carries the model call:
provider, model, api, content blocks (text, thinking, toolCall), ``usage`` {input, output,
cacheRead, cacheWrite, totalTokens}, ``stopReason`` and, on failure, ``errorMessage``.

* Only assistant messages with a usage object, or that failed (stopReason "error"), become
  records; every other line is skipped silently. A line that is not JSON yields a RecordError.
* Tokens: the agent already splits usage the hub's way (input excludes cache reads and writes),
  so input/output/cacheRead/cacheWrite map one to one and their sum is totalTokens.
* Status: stopReason "error" gives the HTTP status the error message starts with (the provider
  SDKs write "429 ..."), else 500; "aborted" (the user pressed stop) gives 499, nginx's "client
  closed request", so it does not count against the provider; anything else 200.
* request_id is "openclaw:<session id>:<entry id>" (a hash of the line when the entry has no id,
  and a hash of both when that would exceed 128 characters): importing a file again, or a longer
  copy of it, produces the same ids, so nothing is stored twice.
* The agent always streams its model calls, so is_stream is true.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import Any

from usage.ingest._common import (
    MAX_LENGTHS,
    array,
    finish,
    load_json,
    provider_type_from_name,
    read_count,
    read_str,
    read_time,
    text_of,
    time_from_unix,
    tool_call,
    type_name,
)
from usage.ingest.canonical import CanonicalRecord, RecordError

SKIP_FRAGMENTS = (".broken.", ".reset.", ".deleted.", ".bak.")
ABORTED_STATUS = 499
_LEADING_STATUS = re.compile(r"^\s*(?:error:?\s*)?([1-5]\d\d)\b", re.IGNORECASE)


def should_skip_file(name: str) -> bool:
    """Files the agent set aside (broken, reset, deleted, backup copies) hold no new calls."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return any(fragment in base for fragment in SKIP_FRAGMENTS)


def parse_openclaw_lines(
    lines: Iterable[str | bytes], *, source_name: str
) -> Iterator[tuple[int, CanonicalRecord | RecordError]]:
    """(line number, record or error) for each line that is a model call or is broken."""
    session_id = _session_from_name(source_name)
    # entry id -> (messages on the branch up to and including it, last user text on the branch)
    branch: dict[str, tuple[int, str]] = {}
    previous: tuple[int, str] = (0, "")
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, RecordError("line", "not UTF-8 text")
                continue
        text = raw.strip()
        if not text:
            continue
        try:
            entry = load_json(text, "line")
        except RecordError as error:
            yield number, error
            continue
        except ValueError:
            yield number, RecordError("line", "not valid JSON")
            continue
        if not isinstance(entry, dict):
            yield number, RecordError("line", f"must be a JSON object, got {type_name(entry)}")
            continue
        if entry.get("type") == "session":
            if isinstance(entry.get("id"), str) and entry["id"].strip():
                session_id = entry["id"].strip()
            continue

        # Version-1 files have no ids: their entries simply follow each other.
        parent = entry.get("parentId")
        if "parentId" not in entry:
            before = previous
        else:
            before = branch.get(parent, (0, "")) if isinstance(parent, str) else (0, "")
        message = entry.get("message") if entry.get("type") == "message" else None
        state = before
        if isinstance(message, dict):
            question = before[1]
            if message.get("role") == "user":
                question = text_of(message.get("content")) or question
            state = (before[0] + 1, question)
        if isinstance(entry.get("id"), str):
            branch[entry["id"]] = state
        previous = state

        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        if not isinstance(message.get("usage"), dict) and message.get("stopReason") != "error":
            continue
        try:
            yield number, _record(entry, message, text, session_id, before)
        except RecordError as error:
            yield number, error


def _session_from_name(source_name: str) -> str:
    name = PurePosixPath(source_name.replace("\\", "/")).name
    return name.removesuffix(".jsonl")


def _request_id(session_id: str, entry: dict[str, Any], line: str) -> str:
    key = entry.get("id") if isinstance(entry.get("id"), str) and entry["id"] else None
    # surrogatepass: a lone surrogate in the line (refused later) must not break the hash.
    key = key or hashlib.sha256(line.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    request_id = f"openclaw:{session_id}:{key}"
    if len(request_id) > MAX_LENGTHS["request_id"]:
        request_id = "openclaw:" + hashlib.sha256(f"{session_id}:{key}".encode("utf-8", "surrogatepass")).hexdigest()
    return request_id


def _record(
    entry: dict[str, Any], message: dict[str, Any], line: str, session_id: str, before: tuple[int, str]
) -> CanonicalRecord:
    record = CanonicalRecord(request_id=_request_id(session_id, entry, line), session_id=session_id)
    if entry.get("timestamp") is not None:
        record.created_at, record.created_at_field = read_time(entry["timestamp"], "timestamp"), "timestamp"
    elif message.get("timestamp") is not None:
        record.created_at = time_from_unix(message["timestamp"], "message.timestamp", divisor=1000)
        record.created_at_field = "message.timestamp"

    usage = message.get("usage") if isinstance(message.get("usage"), dict) else {}
    record.input_tokens = read_count(usage.get("input"), "message.usage.input")
    record.output_tokens = read_count(usage.get("output"), "message.usage.output")
    record.cache_read_tokens = read_count(usage.get("cacheRead"), "message.usage.cacheRead")
    record.cache_creation_tokens = read_count(usage.get("cacheWrite"), "message.usage.cacheWrite")

    if isinstance(message.get("model"), str):
        record.model = message["model"]
    provider = message.get("provider")
    if isinstance(provider, str):
        record.provider_name = read_str(provider, "message.provider", max_len=MAX_LENGTHS["provider_name"])
    api = message.get("api") if isinstance(message.get("api"), str) else ""
    record.provider_type = provider_type_from_name(record.provider_name) or provider_type_from_name(api)
    record.is_stream = True
    record.messages_count = before[0]

    stop = message.get("stopReason")
    error_text = message.get("errorMessage") if isinstance(message.get("errorMessage"), str) else ""
    if stop == "error":
        match = _LEADING_STATUS.match(error_text)
        status = int(match.group(1)) if match else 500
        record.status_code = status if status >= 400 else 500
        record.error_message = error_text or "error"
    elif stop == "aborted":
        record.status_code = ABORTED_STATUS
        record.error_message = error_text or "aborted by the user"
    else:
        record.status_code = 200

    answers, thoughts, calls = [], [], []
    for block in array(message.get("content")):
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            answers.append(block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            thoughts.append(block["thinking"])
        elif kind == "toolCall":
            calls.append(tool_call(block.get("id", ""), block.get("name", ""), block.get("arguments") or {}))
    attributes: dict[str, Any] = {
        "question": before[1],
        "answer": "\n".join(text for text in answers if text),
        "reasoning": "\n".join(text for text in thoughts if text),
        "tool_calls": calls,
        "api": api,
        "stop_reason": stop if isinstance(stop, str) else "",
    }
    record.attributes = {key: value for key, value in attributes.items() if value}
    return finish(record)
