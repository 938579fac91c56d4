"""Writes of request records: the one write path, and ingestion (DESIGN decision 5).

``requests_store`` is the only way request rows reach ``message_request``: ingest, demo
data, the OpenClaw import and the test fixtures all call it.

``records_ingest`` takes raw items in any supported format, turns each into a canonical
record (``usage.ingest``), checks it against the hub (user, provider, sizes), prices it
and stores the batch with one COPY. A bad record never fails its neighbours: the result
says, by index, which were stored, which were duplicates, which were conflicts (a known
request sent again with other values: the first stored version wins) and why each other
was refused. A request is known by its owner's (request_id, created_at): one user's ids
never touch another's records.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from hub.cache import redis_down, redis_failed
from hub.models import ApiKey, SystemSettings, User
from providers.models import Provider, ProviderType
from providers.pricing import PriceBook, Tokens, billed_model
from usage import partitions, tasks
from usage.bulk import RequestRow, copy_rows
from usage.definitions import MESSAGE_ATTRIBUTES
from usage.ingest._common import MAX_JSON_DEPTH, check_json_depth, make_storable, printable, session_from_headers
from usage.ingest.canonical import FORMATS, CanonicalRecord, RecordError
from usage.ingest.detect import detect_format, parse_record
from usage.models import MessageRequest
from usage.rollups.compute import mark_hours
from usage.rollups.minutes import mark_minutes
from usage.signals import requests_stored

logger = logging.getLogger(__name__)

MAX_RECORDS_PER_CALL = 5_000
MAX_RECORD_BYTES = 1_000_000
INT4_MAX = 2**31 - 1  # the token, duration and count columns are PostgreSQL integers
# Records without a timestamp are stamped on arrival; a resend is found by the owner's
# request_id in this recent window (the only case where the stored identity cannot catch it).
UNSTAMPED_LOOKBACK = timedelta(days=2)
TOKEN_COLUMNS = (
    "input_tokens", "output_tokens", "cache_creation_tokens", "cache_creation_5m_tokens",
    "cache_creation_1h_tokens", "cache_read_tokens", "reasoning_tokens", "duration_ms", "ttft_ms", "messages_count",
)  # fmt: skip
# What the sender's record decides. A resend of a stored request that differs in any of these
# is a conflict (the first stored version stays). Not compared: what the hub derives (cost,
# which attributes it keeps, for how long) and how the record travelled (which of the owner's
# keys sent it).
SENT_COLUMNS = (
    "provider_id", "model", "original_model", "endpoint", "status_code", "is_stream", "incomplete", *TOKEN_COLUMNS,
    "session_id", "user_agent", "blocked_by", "blocked_reason", "error_message",
)  # fmt: skip


@dataclass(frozen=True)
class Rejection:
    index: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "reason": self.reason}

    @classmethod
    def of(cls, index: int, error: RecordError) -> Rejection:
        # Field names and reasons can quote what was sent: keep them printable and short.
        return cls(index, printable(error.field), printable(error.reason, 1000))


@dataclass(frozen=True)
class Conflict:
    """A record naming a stored request with other values: not stored, the first version stays."""

    index: int
    fields: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "fields": list(self.fields)}


@dataclass
class IngestResult:
    stored: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": len(self.stored),
            "duplicates": len(self.duplicates),
            "conflicts": len(self.conflicts),
            "rejected": len(self.rejected),
            "duplicate_indexes": self.duplicates,
            "conflict_details": [conflict.as_dict() for conflict in sorted(self.conflicts, key=lambda c: c.index)],
            "errors": [rejection.as_dict() for rejection in sorted(self.rejected, key=lambda r: r.index)],
        }

    def resent(self, index: int, sent: Sequence, stored: Sequence | None) -> None:
        """Record ``index`` named a known request: a duplicate if its values (SENT_COLUMNS, in
        order) are the stored ones, else a conflict naming the fields that differ."""
        differ = () if stored is None else tuple(
            name for name, mine, theirs in zip(SENT_COLUMNS, sent, stored, strict=True) if mine != theirs
        )  # fmt: skip
        if differ:
            self.conflicts.append(Conflict(index, differ))
        else:
            self.duplicates.append(index)


@dataclass
class _Accepted:
    index: int
    record: CanonicalRecord
    user_id: int
    provider: Provider | None
    stamped: bool  # created_at was given by the sender


class _Context:
    """What validating a batch needs, loaded once per call (all small tables)."""

    def __init__(self, owner: User, api_key: ApiKey | None) -> None:
        self.key = api_key
        self.key_id = api_key.pk if api_key else None
        self.owner = owner
        self.settings = settings = SystemSettings.get()
        #: one moment for the whole call: the arrival time of unstamped records, and the limits below
        self.now = now = timezone.now()
        self.latest = now + timedelta(days=1)  # later is refused as "in the future"
        self.oldest = now - timedelta(days=settings.log_retention_days)  # earlier would be purged at once
        # Content is kept only when the admin opted in, and never past its own lifetime.
        self.messages_since = now - timedelta(days=settings.session_messages_days) if (
            settings.store_session_messages) else None  # fmt: skip
        self.prices = PriceBook.load()
        self.providers = {provider.name: provider for provider in Provider.objects.all()}
        self._users: dict[str, int | None] = {}

    def user_for(self, record: CanonicalRecord) -> int:
        if not record.user or record.user in (self.owner.username,):
            return self.owner.pk
        if not self.owner.is_admin:
            raise RecordError("user", "only a key owned by an admin may name the user; leave it out")
        if record.user not in self._users:
            found = User.objects.filter(username=record.user, is_active=True).values_list("pk", flat=True).first()
            if found is None:
                found = (
                    ApiKey.objects.filter(prefix=record.user[:12], owner__is_active=True)
                    .values_list("owner_id", flat=True)
                    .first()
                    if record.user.startswith("uhk_")
                    else None
                )
            self._users[record.user] = found
        user_id = self._users[record.user]
        if user_id is None:
            raise RecordError("user", f"no active user named {record.user!r} and no key with that prefix")
        return user_id

    def provider_for(self, record: CanonicalRecord) -> Provider | None:
        name = record.provider_name.strip()
        if not name:
            return None
        provider = self.providers.get(name)
        if provider is None and self.owner.is_admin:
            # A gateway run by an admin names its upstreams: learn them rather than lose the name.
            kind = record.provider_type if record.provider_type in ProviderType.values else ProviderType.OTHER
            provider, _created = Provider.objects.get_or_create(name=name, defaults={"type": kind})
            self.providers[name] = provider
        return provider


def _parse(item: Any, fmt: str | None) -> CanonicalRecord:
    if isinstance(item, RecordError):
        raise item  # the body reader already found this item unreadable
    if isinstance(item, dict) and "format" in item:
        item = dict(item)
        named = item.pop("format")
        if named not in FORMATS:
            raise RecordError("format", f"unknown format {named!r}; one of {', '.join(FORMATS)}")
        fmt = fmt or named
    fmt = fmt or detect_format(item)
    if fmt is None:
        raise RecordError("format", "cannot tell the format of this record; name it with 'format' or ?format=")
    if fmt in ("openclaw", "otlp"):
        raise RecordError("format", f"{fmt} data has its own endpoint; see the API documentation")
    return parse_record(item, fmt)


def _check_depth(item: Any) -> None:
    """Refuse JSON nested past MAX_JSON_DEPTH, naming the top-level field that goes too deep,
    before anything walks the item recursively (measuring it, an adapter, the digest)."""
    if isinstance(item, dict):
        for name, value in item.items():
            if isinstance(value, (dict, list)):  # (most fields are scalars: spare them the call)
                check_json_depth(value, str(name), MAX_JSON_DEPTH - 1)
    else:
        check_json_depth(item, "record")


def _check_sizes(record: CanonicalRecord, context: _Context) -> None:
    for name in TOKEN_COLUMNS:
        value = getattr(record, name)
        if value is not None and value > INT4_MAX:
            raise RecordError(name, f"{value} is larger than the hub stores ({INT4_MAX})")
    if record.status_code is not None and not 100 <= record.status_code <= 599:
        raise RecordError("status_code", "must be an HTTP status between 100 and 599")
    if record.created_at is not None:
        # Named as the sender wrote it: a time read from inside a body (a response's "created")
        # is refused under that name, not under a created_at the sender never sent.
        field = record.created_at_field
        if record.created_at > context.latest:
            raise RecordError(field, "is more than a day in the future")
        # Older rows would be dropped by the next retention run (and would each need a partition).
        if record.created_at < context.oldest:
            days = context.settings.log_retention_days
            raise RecordError(field, f"is older than the log retention period ({days} days)")


def _fallback_request_id(item: Any) -> str:
    """A sender that gives no id still gets idempotency: the id is the record's own digest."""
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:56]


def _cut(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value[:limit]
    text = json.dumps(value, ensure_ascii=False, default=str)
    return value if len(text) <= limit else text[:limit]


def _attributes(record: CanonicalRecord, context: _Context, created_at: datetime) -> dict[str, Any] | None:
    if not record.attributes:
        return None
    # Content is kept only when the admin opted in, and never past its own lifetime (a late
    # record is not kept longer than its neighbours); token counts always are.
    keep_messages = context.messages_since is not None and created_at >= context.messages_since
    settings = context.settings
    kept = {}
    for name, value in record.attributes.items():
        if name in MESSAGE_ATTRIBUTES and not keep_messages:
            continue
        if value in (None, "", [], {}):
            continue
        kept[name] = _cut(value, settings.attribute_max_length)
    return kept or None


def _keep_unknown_provider(record: CanonicalRecord, provider: Provider | None) -> None:
    """A provider name the hub does not know (and may not learn from this key) stays on the row."""
    if provider is None and record.provider_name.strip():
        record.attributes.setdefault("provider", record.provider_name.strip())


def _enqueue_rollup() -> None:
    """Ask a worker to roll up; without a broker, the beat sweep finds the dirty hours.

    At most one run per ROLLUP_QUEUE_SECONDS: the first write of that window queues a run that
    starts when the window ends, and sees every write of it; the others queue nothing. Before,
    every batch queued its own run: with a worker beside a steady ingest (as in production),
    1,102 runs were waiting, each recomputing what the next batch made dirty again, and 4-client
    ingest fell from 17.7k to 10.1k records/s.

    The broker is the cache's Redis: once either found it gone, it is not tried again for a few
    seconds, because each try against a Redis that is gone costs the caller about two seconds
    of kombu's connection retry (measured: every ingest call paid it during a Redis stop)."""
    if redis_down():
        logger.info("rollup not enqueued (Redis is unreachable): the next sweep will find the dirty hours")
        return
    window = settings.ROLLUP_QUEUE_SECONDS
    if window and not cache.add(tasks.ROLLUP_QUEUED, True, timeout=window):
        return  # a run is queued for this window
    try:
        tasks.rollups_process.apply_async(countdown=window)
    except (KombuOperationalError, RedisConnectionError, OSError) as error:  # the broker is gone
        cache.delete(tasks.ROLLUP_QUEUED)  # nothing is queued: a later write may try again
        redis_failed(error)
        logger.warning("rollup not enqueued (%s): the next sweep will find the dirty hours", error)


def requests_store(rows: Sequence[RequestRow]) -> list[RequestRow]:
    """Store request rows, skipping any already stored; return the ones that were new
    (``requests_store_compared`` says more)."""
    return requests_store_compared(rows).new


@dataclass(frozen=True)
class Stored:
    """What became of a batch of rows, by position in it."""

    new: list[RequestRow]
    #: positions of the rows stored (the others named a request stored already)
    inserted: set[int]
    #: position of a skipped row -> the compared columns in which its stored version differs
    differing: dict[int, tuple[str, ...]]


def requests_store_compared(rows: Sequence[RequestRow], compare: Sequence[str] = ()) -> Stored:
    """Store request rows, skipping any already stored; return the new ones, and which
    ``compare`` columns differ for each skipped one whose stored version is not the same.

    The rows' partitions exist; then, in one transaction, COPY moves the rows in,
    ``usage.signals.requests_stored`` tells the listeners (sessions, budgets) which rows were
    new, so their upserts commit or roll back with the rows, and last the hours (and recent
    minutes, for the providers' availability) of the new rows are marked dirty. A rollup
    running meanwhile cannot mark them clean without having seen these rows: its clean mark
    waits for this transaction's and finds the version bumped. Marking last matters under
    concurrent ingest: the mark locks its hour's state row until commit, so writers of one
    hour queue on it only for their commits, not for their whole COPY (measured with four
    clients: most server time was spent waiting on that lock when it was taken first).
    Duplicates change no hour and mark none. On commit, a worker is asked to roll the hours
    up (idempotent: duplicates of the task are harmless).
    """
    if not rows:
        return Stored([], set(), {})
    partitions.ensure_partitions({row.created_at for row in rows})
    with transaction.atomic():
        inserted, differing = copy_rows(rows, compare)
        new = [rows[position] for position in sorted(inserted)]
        if new:
            requests_stored.send(sender=MessageRequest, rows=new)
            mark_hours(row.created_at for row in new)
            mark_minutes(row.created_at for row in new)
            transaction.on_commit(_enqueue_rollup)
    return Stored(new, inserted, differing)


def request_messages_forget(*, before: datetime, since: datetime | None = None) -> int:
    """Remove the stored question, answer, tool calls and reasoning of the requests created in
    [since, before) (token counts and every other attribute stay); return how many rows changed."""
    window = "created_at < %s" + (" AND created_at >= %s" if since else "")
    names = sorted(MESSAGE_ATTRIBUTES)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE message_request SET attributes = NULLIF(attributes - %s::text[], '{{}}'::jsonb) "  # noqa: S608
            f"WHERE {window} AND attributes ?| %s::text[]",
            [names, before, *([since] if since else []), names],
        )
        return cursor.rowcount


def _row(accepted: _Accepted, context: _Context) -> RequestRow:
    record = accepted.record
    provider = accepted.provider
    settings = context.settings
    multiplier = provider.cost_multiplier if provider else 1
    provider_type = provider.type if provider else record.provider_type
    asked = record.original_model or record.model
    billed = billed_model(model=record.model, original_model=asked, bill_original=settings.bill_original_model)
    created_at = record.created_at or context.now
    cost = context.prices.cost(
        model=billed,
        provider_type=provider_type,
        multiplier=multiplier,
        tokens=Tokens(
            input=record.input_tokens,
            output=record.output_tokens,
            cache_creation=record.cache_creation_tokens,
            cache_creation_5m=record.cache_creation_5m_tokens,
            cache_creation_1h=record.cache_creation_1h_tokens,
            cache_read=record.cache_read_tokens,
        ),  # fmt: skip
        at=created_at,
    )
    return RequestRow(
        request_id=record.request_id,
        created_at=created_at,
        user_id=accepted.user_id,
        key_id=context.key_id,
        provider_id=provider.id if provider else None,
        model=record.model or asked,
        original_model=asked,
        endpoint=record.endpoint,
        status_code=record.status_code,
        is_stream=record.is_stream,
        incomplete=record.incomplete,
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        cache_creation_tokens=record.cache_creation_tokens,
        cache_creation_5m_tokens=record.cache_creation_5m_tokens,
        cache_creation_1h_tokens=record.cache_creation_1h_tokens,
        cache_read_tokens=record.cache_read_tokens,
        reasoning_tokens=record.reasoning_tokens,
        cost=cost.amount,
        cost_breakdown=cost.breakdown,
        price_missing=cost.amount is None,
        cost_multiplier=multiplier,
        duration_ms=record.duration_ms,
        ttft_ms=record.ttft_ms,
        session_id=record.session_id,
        provider_chain=record.provider_chain,
        user_agent=record.user_agent,
        messages_count=record.messages_count,
        blocked_by=record.blocked_by,
        blocked_reason=record.blocked_reason,
        error_message=record.error_message,
        attributes=_attributes(record, context, created_at),
    )  # fmt: skip


def _sent(row: RequestRow) -> tuple:
    return tuple(getattr(row, name) for name in SENT_COLUMNS)


_SENT_SQL = ", ".join(f'm."{name}"' for name in SENT_COLUMNS)


def _stored_recently(requests: list[tuple[int, str]], since: datetime) -> dict[tuple[int, str], tuple]:
    """The first stored version (SENT_COLUMNS) of each (owner, request_id) stored since ``since``."""
    if not requests:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT ON (m.user_id, m.request_id) m.user_id, m.request_id, {_SENT_SQL} "  # noqa: S608
            'FROM "message_request" m WHERE m.user_id = ANY(%s) AND m.request_id = ANY(%s) AND m.created_at >= %s '
            "ORDER BY m.user_id, m.request_id, m.created_at, m.id",
            [list({user_id for user_id, _ in requests}), list({request_id for _, request_id in requests}), since],
        )
        wanted = set(requests)
        return {(row[0], row[1]): row[2:] for row in cursor.fetchall() if (row[0], row[1]) in wanted}


def _stored_near(accepted: list[_Accepted], now: datetime) -> set[tuple[int, str]]:
    """(owner, request_id) of the records that name their request by their request_id alone
    (``CanonicalRecord.same_request_within``) and whose request a row of the same owner holds."""
    named = [item for item in accepted if item.record.same_request_within]
    if not named:
        return set()
    window = max(item.record.same_request_within for item in named)
    times = [item.record.created_at or now for item in named]
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT user_id, request_id, created_at FROM "message_request" '
            "WHERE user_id = ANY(%s) AND request_id = ANY(%s) AND created_at BETWEEN %s AND %s",
            [list({item.user_id for item in named}), list({item.record.request_id for item in named}),
             min(times) - window, max(times) + window],
        )  # fmt: skip
        stored: dict[tuple[int, str], list[datetime]] = {}
        for user_id, request_id, created_at in cursor.fetchall():
            stored.setdefault((user_id, request_id), []).append(created_at)
    return {
        (item.user_id, item.record.request_id)
        for item, at in zip(named, times, strict=True)
        if any(abs(other - at) <= item.record.same_request_within for other in stored.get(
            (item.user_id, item.record.request_id), ()))
    }  # fmt: skip


def records_ingest(
    *, owner: User, api_key: ApiKey | None = None, items: Iterable[Any] | None = None,
    records: Iterable[tuple[int, Any]] | None = None, fmt: str | None = None, body_bytes: int | None = None,
) -> IngestResult:  # fmt: skip
    """Store raw ``items`` (any single-record format), or already parsed ``records`` given as
    (index, CanonicalRecord | RecordError) pairs (OpenClaw files, OTLP exports), for the
    ``owner`` (the key's owner, or whoever runs an import) through ``api_key`` if any.
    ``body_bytes``, the size of the body the items came in, spares measuring each item
    when the whole body is within the per-record limit."""
    context = _Context(owner, api_key)
    result = IngestResult()
    parsed: list[tuple[int, CanonicalRecord | RecordError, Any]] = []
    measure = body_bytes is None or body_bytes > MAX_RECORD_BYTES
    if items is not None:
        for index, item in enumerate(items):
            try:
                if not isinstance(item, RecordError):
                    _check_depth(item)
                size = len(json.dumps(item, default=str)) if measure and not isinstance(item, RecordError) else 0
                if size > MAX_RECORD_BYTES:
                    raise RecordError("record", f"is {size:,} bytes; the limit is {MAX_RECORD_BYTES:,}")
                parsed.append((index, _parse(item, fmt), item))
            except RecordError as error:
                parsed.append((index, error, None))
            except Exception:
                # Adapters are meant to raise RecordError only; should one slip, the record is
                # refused and the slip logged, but its neighbours are still stored.
                logger.exception("ingest: record %d could not be read", index)
                parsed.append((index, RecordError("record", "could not be read (an error in the hub, logged)"), None))
    for index, outcome in records or ():
        parsed.append((index, outcome, None))

    accepted: list[_Accepted] = []
    for index, outcome, raw in parsed:
        if isinstance(outcome, RecordError):
            result.rejected.append(Rejection.of(index, outcome))
            continue
        record = outcome
        try:
            _check_sizes(record, context)
            if context.settings.session_header and record.headers:
                configured = session_from_headers(record.headers, context.settings.session_header)
                if configured and record.session_id in ("", session_from_headers(record.headers)):
                    record.session_id = configured
                    make_storable(record)
            if not record.request_id:
                record.request_id = _fallback_request_id(raw if raw is not None else record.__dict__)
            provider = context.provider_for(record)
            _keep_unknown_provider(record, provider)
            accepted.append(_Accepted(index, record, context.user_for(record), provider, record.created_at is not None))
        except RecordError as error:
            result.rejected.append(Rejection.of(index, error))

    # A request is known by its owner's (request_id, created_at), or, for a record that gave no
    # time, by its owner's request_id in the recent window. Inside the call the first one counts.
    now = context.now
    rows = {item.index: _row(item, context) for item in accepted}
    recent = _stored_recently(
        [(item.user_id, item.record.request_id) for item in accepted if not item.stamped], now - UNSTAMPED_LOOKBACK
    )
    named = _stored_near(accepted, now)  # (owner, request_id) of requests stored under another start time
    first: dict[tuple, RequestRow] = {}  # the request -> its first record's row in this call
    fresh: list[_Accepted] = []
    for item in accepted:
        row = rows[item.index]
        same_request = (item.user_id, item.record.request_id) if item.record.same_request_within else None
        if same_request in named:
            # Another instrumentation's span of a stored call: the same request, seen otherwise.
            result.duplicates.append(item.index)
            continue
        request = row.identity if item.stamped else (item.user_id, item.record.request_id)
        if request in first:
            result.resent(item.index, _sent(row), _sent(first[request]))
            continue
        if request in recent:
            result.resent(item.index, _sent(row), recent[request])
            continue
        first[request] = row
        if same_request:
            named.add(same_request)
        fresh.append(item)

    if fresh:
        stored = requests_store_compared([rows[item.index] for item in fresh], SENT_COLUMNS)
        for position, item in enumerate(fresh):
            if position in stored.inserted:
                result.stored.append(item.index)
            elif position in stored.differing:  # stored before (an earlier call, a concurrent one), otherwise
                result.conflicts.append(Conflict(item.index, stored.differing[position]))
            else:
                result.duplicates.append(item.index)
    result.duplicates.sort()
    logger.info(
        "ingest owner=%s key=%s stored=%d duplicates=%d conflicts=%d rejected=%d",
        owner.username, api_key.prefix if api_key else "-", len(result.stored), len(result.duplicates),
        len(result.conflicts), len(result.rejected),
    )  # fmt: skip
    return result
