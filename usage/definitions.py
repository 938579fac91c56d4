"""Business definitions of a request, each written once and imported everywhere else.

"An error", "a successful request with zero tokens", the token kinds and their total, the
cache hit ratio and a status class are used by the log filters, the partial indexes, the
rollups, the statistics and the exports alike: change one here and every reader follows.
The SQL spelling of a condition is compiled from its ``Q`` (``condition_sql``), never
written a second time by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache

from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

#: a request that failed: an HTTP status of 400 or more, or an error message
ERROR = Q(status_code__gte=400) | ~Q(error_message="")
#: a request that succeeded yet reported no tokens at all: a data-quality problem worth a look
ZERO_TOKENS = Q(status_code__lt=400, input_tokens=0, output_tokens=0, cache_creation_tokens=0, cache_read_tokens=0)
#: a stream that ended before its final usage event: its tokens are as far as known
INCOMPLETE = Q(incomplete=True)

#: what a request's stored conversation is made of (kept only when System settings say so)
MESSAGE_ATTRIBUTES = ("question", "answer", "tool_calls", "reasoning")

#: the billed token kinds, in the order pages show them; their sum is the request's total
TOKEN_KINDS = ("input_tokens", "cache_creation_tokens", "cache_read_tokens", "output_tokens")
TOKEN_KIND_LABELS = {
    "input_tokens": _("Input"),
    "cache_creation_tokens": _("Cache write"),
    "cache_read_tokens": _("Cache read"),
    "output_tokens": _("Output"),
    "reasoning_tokens": _("Reasoning"),
}
#: the kinds a breakdown shows: the billed ones plus reasoning, which is part of output
TOKEN_KINDS_WITH_REASONING = (*TOKEN_KINDS, "reasoning_tokens")


def _value(row, name: str) -> int:
    return (row[name] if isinstance(row, Mapping) else getattr(row, name)) or 0


def total_tokens(row) -> int:
    """Input + cache creation + cache read + output (reasoning is inside output)."""
    return sum(_value(row, name) for name in TOKEN_KINDS)


def prompt_tokens(row) -> int:
    """Everything sent to the model: full-price input, cache writes and cache reads."""
    return _value(row, "input_tokens") + _value(row, "cache_creation_tokens") + _value(row, "cache_read_tokens")


def ratio(part, whole) -> float | None:
    """part / whole, or None when there is nothing to divide by (shown as "—", never 0)."""
    return None if not whole else part / whole


def cache_hit_ratio(row) -> float | None:
    """The share of prompt tokens served from the cache."""
    return ratio(_value(row, "cache_read_tokens"), prompt_tokens(row))


def is_error(status_code: int | None, error_message: str | None) -> bool:
    """In Python what ``ERROR`` says in SQL."""
    return bool(error_message) or (status_code is not None and status_code >= 400)


#: the API a request used, from its endpoint: the first rule whose any part the endpoint contains
API_TYPE_RULES = (
    ("embeddings", ("embedding", "embedcontent")),
    ("codex", ("/responses", "codex")),
    ("chat", ("/chat/completions", "/messages", "generatecontent", "/completions", "/chat")),
)
API_TYPES = (*(name for name, _parts in API_TYPE_RULES), "other")
API_TYPE_LABELS = {"chat": _("chat"), "codex": _("codex"), "embeddings": _("embeddings"), "other": _("other")}


@lru_cache(maxsize=1024)  # a deployment has a handful of endpoints; the write path asks per record
def api_type(endpoint: str) -> str:
    lowered = (endpoint or "").lower()
    for name, parts in API_TYPE_RULES:
        if any(part in lowered for part in parts):
            return name
    return "other"


def api_type_sql(column: str = "endpoint") -> str:
    """``api_type`` as a SQL CASE over ``column`` (the rules are constants, never user input)."""
    whens = []
    for name, parts in API_TYPE_RULES:
        condition = " OR ".join(f"strpos(lower({column}), '{part}') > 0" for part in parts)
        whens.append(f"WHEN {condition} THEN '{name}'")
    return f"CASE {' '.join(whens)} ELSE 'other' END"


def status_class(status_code: int | None) -> int:
    """2 for 2xx, 4 for 4xx, ...; 0 when no status was recorded (the rollups' status_class)."""
    return 0 if status_code is None else status_code // 100


def in_status_class(number: int) -> Q:
    """The raw rows of one status class, as ``status_class`` files them in the rollups."""
    if number == 0:
        return Q(status_code__isnull=True)
    return Q(status_code__gte=number * 100, status_code__lt=number * 100 + 100)


@cache
def condition_sql(name: str) -> str:
    """``ERROR`` or ``ZERO_TOKENS`` as SQL over ``message_request`` (for the rollup's FILTERs)."""
    from usage.models import MessageRequest

    query = MessageRequest.objects.filter({"ERROR": ERROR, "ZERO_TOKENS": ZERO_TOKENS}[name]).query
    sql, params = query.get_compiler(connection=connection).compile(query.where)
    return connection.ops.compose_sql(sql, params)


#: a request the provider answered (availability): a 2xx or 3xx status. Anything else fails it:
#: a 4xx, a 5xx, or no status at all (no response)
AVAILABLE = Q(status_code__gte=200, status_code__lt=400)


def is_available(status_code: int | None) -> bool:
    """In Python what ``AVAILABLE`` says in SQL (0 or None: no response)."""
    return status_code is not None and 200 <= status_code < 400


#: what went wrong when no status came back, read from the error message (first match wins):
#: (kind, label, words the message contains, case-insensitive)
ERROR_KINDS = (
    ("timeout", _("Timeout"), ("timeout", "timed out", "deadline")),
    ("connection", _("Connection failed"), ("connect", "reset", "refused", "unreachable", "resolve", "eof")),
    ("canceled", _("Canceled"), ("cancel", "abort")),
)
#: no status and no error message: nothing came back at all
NO_RESPONSE = "no_response"
#: no status and a message that names none of the kinds above
OTHER_ERROR = "other"
ERROR_KIND_LABELS = {
    **{kind: label for kind, label, _words in ERROR_KINDS},
    NO_RESPONSE: _("No response"),
    OTHER_ERROR: _("Other error"),
}


def error_kind(error_message: str) -> str:
    """The kind of a request that got no status, from its error message."""
    text = (error_message or "").lower()
    if not text:
        return NO_RESPONSE
    for kind, _label, words in ERROR_KINDS:
        if any(word in text for word in words):
            return kind
    return OTHER_ERROR


def error_kind_sql(column: str = "error_message") -> str:
    """``error_kind`` as a SQL expression over ``column`` (the same words, in the same order)."""
    cases = [f"WHEN {column} = '' THEN '{NO_RESPONSE}'"]
    for kind, _label, words in ERROR_KINDS:
        matches = " OR ".join(f"{column} ILIKE '%%{word}%%'" for word in words)
        cases.append(f"WHEN {matches} THEN '{kind}'")
    return f"CASE {' '.join(cases)} ELSE '{OTHER_ERROR}' END"
