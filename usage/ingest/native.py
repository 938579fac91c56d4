"""The hub's own record format: a JSON object whose keys are ``CanonicalRecord``'s field names.

Differences from the dataclass, all for the sender's convenience:

* ``provider`` is accepted as a synonym of ``provider_name``;
* ``created_at`` is an ISO-8601 string with a zone (``Z`` or an offset) or unix seconds;
* ``total_tokens`` may be sent; it is not stored but must equal
  input + cache_creation + cache_read + output, which catches senders that count cached tokens
  inside ``input_tokens`` (the hub's convention excludes them, see ``canonical``);
* ``null`` for any field means "not given".

Validation is strict: each problem raises ``RecordError`` naming the field. Integers follow the
policy in ``_common`` (ints, whole floats, digit strings; never booleans). Unknown keys are
rejected so that a misspelt field is not silently dropped. ``error_message`` and
``blocked_reason`` are cut to 4,000 characters; every other over-long string is refused.
"""

from __future__ import annotations

from typing import Any

from usage.ingest._common import FIELDS, MAX_INT, Field, apply_fields, finish, read_int, type_name
from usage.ingest.canonical import CanonicalRecord, RecordError

#: every field of the native format: the shared ones, and the total it checks but does not store
NATIVE_FIELDS: dict[str, Field] = {
    **FIELDS,
    "total_tokens": Field("", read_int, "integer", "Optional check: must equal input + cache_creation + "
                          "cache_read + output.", minimum=0, maximum=MAX_INT),
}  # fmt: skip


_STORED_FIELDS = frozenset(FIELDS)  # (built once: parse_native runs per record)


def parse_native(obj: dict[str, Any]) -> CanonicalRecord:
    if not isinstance(obj, dict):
        raise RecordError("record", f"must be a JSON object, got {type_name(obj)}")
    for key in obj:
        if key not in NATIVE_FIELDS:
            raise RecordError(str(key), "unknown field")
    record = CanonicalRecord()
    apply_fields(record, obj, _STORED_FIELDS)
    if record.reasoning_tokens > record.output_tokens:
        raise RecordError("reasoning_tokens", "exceeds output_tokens; output_tokens must include reasoning tokens")
    if obj.get("total_tokens") is not None:
        total = read_int(obj["total_tokens"], "total_tokens")
        if total != record.total_tokens:
            raise RecordError(
                "total_tokens",
                f"is {total} but input + cache_creation + cache_read + output is {record.total_tokens}; "
                "input_tokens must exclude cache reads and writes",
            )
    return finish(record)
