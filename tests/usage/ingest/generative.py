"""Hypothesis strategies for the generative ingest tests: arbitrary JSON whose strings include
what PostgreSQL cannot store (NUL, lone surrogates), and the sample payloads with parts
replaced by such JSON, so that the adapters' deep paths are reached, not only their first check."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.usage.ingest.sample_files import SAMPLES, load_json, load_text

# Bounded so that each property takes a few seconds; no example database on disk.
BOUNDED = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Words the adapters look for, so that generated objects walk into their code, not past it.
KEYS = (
    "request_id", "created_at", "model", "original_model", "provider", "provider_name", "provider_type",
    "endpoint", "status_code", "is_stream", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_creation_tokens", "reasoning_tokens", "duration_ms", "session_id", "user", "user_agent",
    "error_message", "attributes", "provider_chain", "headers", "request", "response", "stream", "usage",
    "choices", "message", "messages", "content", "delta", "type", "text", "id", "created", "error",
    "ai_log", "input_token", "output_token", "usageMetadata", "candidates", "parts", "role", "tool_calls",
    "function", "arguments", "input", "output", "format", "timestamp", "parentId", "stopReason",
)  # fmt: skip
TRICKY = ("\x00", "\ud800", "\udfff", "a\x00b", "x\ud83d", "", "-", "12", "1e400", "2026-01-01T00:00:00Z", "[", "{")

characters = st.characters() | st.characters(categories=["Cs"]) | st.just("\x00")
texts = st.text(characters, max_size=20) | st.sampled_from(TRICKY)
keys = st.sampled_from(KEYS) | texts
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)
json_objects = st.dictionaries(keys, json_values, max_size=8)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _samples() -> dict[str, list[Any]]:
    """Real records per format, each a JSON value an adapter accepts."""
    found: dict[str, list[Any]] = {"native": [], "higress": [], "openai": [], "anthropic": [], "gemini": []}
    found["native"] = [load_json("native/full_record.json"), load_json("native/minimal_record.json")]
    found["higress"] = [json.loads(line) for line in load_text("higress/access.log.jsonl").splitlines() if line]
    found["higress"].append(load_json("higress/ai_log_only.json"))
    for provider in ("openai", "anthropic", "gemini"):
        folder = SAMPLES / provider
        requests = sorted(path.name for path in folder.glob("*request*.json"))
        request = load_json(f"{provider}/{requests[0]}") if requests else {}
        for path in sorted(folder.iterdir()):
            if "request" in path.name:
                continue
            if path.suffix == ".sse":
                found[provider].append({"request": request, "stream": path.read_text(encoding="utf-8")})
            else:
                body = json.loads(path.read_text(encoding="utf-8"))
                key = "stream" if isinstance(body, list) else "response"
                found[provider].append({"request": request, key: body})
    return found


SAMPLE_RECORDS = _samples()
OPENCLAW_LINES = load_text("openclaw/3f9a1c2e-7b4d-4e8f-9a0b-1c2d3e4f5a6b.jsonl").splitlines()
# Positions of the lines that are JSON (the sample also holds a deliberately broken one).
OPENCLAW_JSON = [number for number, line in enumerate(OPENCLAW_LINES) if _is_json(line)]
OTLP_EXPORT = load_json("otlp/traces.json")


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            found += _paths(item, (*prefix, position))
    return found


def _replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replaced(value[head], rest, new)
    return copy


def _spliced(text: str, data: st.DataObject) -> str:
    at = data.draw(st.integers(min_value=0, max_value=len(text)))
    return text[:at] + data.draw(texts) + text[at:]


def mutated(value: Any, data: st.DataObject, times: int = 3) -> Any:
    """``value`` with up to ``times`` parts replaced by arbitrary JSON, or strings spliced into."""
    for _ in range(data.draw(st.integers(min_value=1, max_value=times))):
        path = data.draw(st.sampled_from(_paths(value)))
        current = value
        for step in path:
            current = current[step]
        if isinstance(current, str) and current and data.draw(st.booleans()):
            value = _replaced(value, path, _spliced(current, data))
        else:
            value = _replaced(value, path, data.draw(json_values))
    return value
