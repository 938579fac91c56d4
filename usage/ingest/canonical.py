"""The one shape every ingest format is turned into.

Adapters (one module per input format in this package) are pure functions from
their format to ``CanonicalRecord`` objects: no database, no Django models, so
they are testable on their own. Validation against the database (users, keys,
providers, prices) happens later, in ``usage.services``.

Token convention (the same for every format, documented in the README):

* ``input_tokens``: prompt tokens billed at the full input rate, i.e. WITHOUT
  cache reads and WITHOUT cache writes. Formats that report cached tokens inside
  their prompt count (OpenAI ``prompt_tokens_details.cached_tokens``, Gemini
  ``cachedContentTokenCount``, OTel ``gen_ai.usage.input_tokens``) have them
  subtracted here; formats that report them beside it (Anthropic) are taken as is.
* ``cache_creation_tokens``: tokens written to the prompt cache (all TTLs);
  ``cache_creation_5m_tokens`` + ``cache_creation_1h_tokens`` split it by TTL
  when the source says so (their sum never exceeds ``cache_creation_tokens``).
* ``cache_read_tokens``: tokens served from the prompt cache.
* ``output_tokens``: completion tokens, INCLUDING reasoning tokens.
* ``reasoning_tokens``: the part of ``output_tokens`` spent on reasoning
  (informational; never added to the total a second time).
* total = input + cache_creation + cache_read + output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

FORMATS = ("native", "higress", "openai", "anthropic", "gemini", "openclaw", "otlp")

PROVIDER_TYPES = ("claude", "openai", "gemini", "qwen", "deepseek", "openai-compatible", "other")

# Header names that carry an agent's session id, checked in this order after any
# header configured in SystemSettings.
SESSION_HEADERS = (
    "x-openclaw-session-key",
    "x-clawdbot-session-key",
    "x-moltbot-session-key",
    "x-agent-session",
)

# Keys of ``CanonicalRecord.attributes`` the hub knows (Higress built-ins);
# anything else is a custom attribute and kept under its own name.
KNOWN_ATTRIBUTES = (
    "question",
    "answer",
    "tool_calls",
    "reasoning",
    "input_token_details",
    "output_token_details",
)


class RecordError(ValueError):
    """A record that cannot be accepted; ``field`` names the offending field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class CanonicalRecord:
    request_id: str | None = None
    created_at: datetime | None = None  # timezone-aware; None = "when it arrived"
    created_at_field: str = "created_at"  # where the time was read, for messages about it
    model: str = ""  # the model that actually ran
    original_model: str = ""  # what the client asked for ("" = same as model)
    provider_name: str = ""  # a Provider.name in the hub, when the source names one
    provider_type: str = ""  # one of PROVIDER_TYPES, or "" when unknown
    endpoint: str = ""  # e.g. "/v1/chat/completions"
    status_code: int | None = None
    is_stream: bool = False
    incomplete: bool = False  # a stream that ended before its final usage event
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_creation_5m_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    cache_read_tokens: int = 0
    reasoning_tokens: int = 0
    duration_ms: int | None = None
    ttft_ms: int | None = None
    session_id: str = ""
    user: str = ""  # username or end-user key prefix named by the record (admin keys only)
    user_agent: str = ""
    messages_count: int | None = None
    error_message: str = ""
    blocked_by: str = ""
    blocked_reason: str = ""
    provider_chain: list[dict[str, Any]] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased request headers, for session lookup
    # Set by an adapter whose request_id names the request on its own (a provider's response id, which
    # two tracers of one call both report, each with its own start time): a row of the same owner with
    # this request_id, created within this much of created_at, is this request, stored already.
    same_request_within: timedelta | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.cache_creation_tokens + self.cache_read_tokens + self.output_tokens
