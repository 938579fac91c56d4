"""Reading ingestion bodies: size limits, gzip, JSON / NDJSON. A body that cannot be read
is a 400 (or 413 when too large); a readable body with bad records is the service's job."""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings

from usage.ingest.canonical import RecordError


class BodyError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class Batch:
    items: list[Any]
    fmt: str | None = None


def read_raw(request) -> bytes:
    """The request body, decompressed, refused past the configured size."""
    limit = settings.INGEST_MAX_BODY_BYTES
    length = request.META.get("CONTENT_LENGTH")
    if length and length.isdigit() and int(length) > limit:
        raise BodyError(413, f"the body is {int(length):,} bytes; the limit is {limit:,}")
    raw = request._request.read(limit + 1)
    if len(raw) > limit:
        raise BodyError(413, f"the body is over the limit of {limit:,} bytes")
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in ("gzip", "deflate"):
        try:
            decompressor = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
            raw = decompressor.decompress(raw, limit + 1)
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise BodyError(400, f"the body is not valid {encoding}: {exc}") from None
        if len(raw) > limit or decompressor.unconsumed_tail:
            raise BodyError(413, f"the decompressed body is over the limit of {limit:,} bytes")
    elif encoding not in ("", "identity"):
        raise BodyError(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    return raw


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BodyError(400, f"the body is not UTF-8 (byte {exc.start})") from None


def _loads(text: str):
    """orjson for speed; the standard parser for what orjson refuses but JSON allows (integers
    past 64 bits), so that such a value is one record's problem, not the whole body's."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            return json.loads(text)
        except RecursionError:  # nested deeper than Python's parser goes: unreadable, not a crash
            raise json.JSONDecodeError("nested too deep", text, 0) from None


def parse_records(raw: bytes, *, content_type: str, max_records: int) -> Batch:
    """A JSON array, a JSON object (one record, or {"format": ..., "records": [...]}) or NDJSON."""
    text = _text(raw)
    if not text.strip():
        raise BodyError(400, "the body is empty; send a JSON array of records or NDJSON")
    batch: Batch | None = None
    if "ndjson" not in content_type and "jsonl" not in content_type:
        try:
            document = _loads(text)
        except json.JSONDecodeError as exc:
            if "\n" not in text.strip():
                raise BodyError(400, f"the body is not JSON: {exc}") from None
        else:
            batch = _from_document(document)
    if batch is None:
        batch = Batch(items=_ndjson(text))
    if len(batch.items) > max_records:
        raise BodyError(413, f"{len(batch.items):,} records in one call; the limit is {max_records:,}")
    return batch


def _from_document(document: Any) -> Batch:
    if isinstance(document, list):
        return Batch(items=document)
    if isinstance(document, dict) and isinstance(document.get("records"), list):
        fmt = document.get("format")
        if fmt is not None and not isinstance(fmt, str):
            raise BodyError(400, "'format' must be a string")
        return Batch(items=document["records"], fmt=fmt)
    if isinstance(document, dict):
        return Batch(items=[document])
    raise BodyError(400, "the body must be a JSON array of records, one record object, or NDJSON")


def _ndjson(text: str) -> list[Any]:
    items: list[Any] = []
    readable = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(_loads(line))
            readable += 1
        except json.JSONDecodeError as exc:
            # One unreadable line is that record's problem, not the whole body's.
            items.append(RecordError("record", f"line {number} is not JSON: {exc.msg} (column {exc.colno})"))
    if not readable:
        raise BodyError(400, "the body is neither JSON nor NDJSON (no line parses as JSON)")
    return items
