"""Reading ingestion bodies: size limits, gzip, JSON / NDJSON. A body that cannot be read
is a 400 (or 413 when too large); a readable body with bad records is the service's job."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from usage.ingest._common import TOO_DEEP, load_json
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


def parse_records(raw: bytes, *, content_type: str, max_records: int) -> Batch:
    """A JSON array, a JSON object (one record, or {"format": ..., "records": [...]}) or NDJSON."""
    ndjson = "ndjson" in content_type or "jsonl" in content_type
    try:
        text: str | None = _text(raw)
    except BodyError:
        if not (ndjson or b"\n" in raw.strip()):
            raise
        # NDJSON: a line that is not UTF-8 is that record's problem, not the whole body's.
        text = None
    if text is not None and not text.strip():
        raise BodyError(400, "the body is empty; send a JSON array of records or NDJSON")
    batch: Batch | None = None
    if text is not None and not ndjson:
        try:
            document = load_json(text, check_depth=False)
        except RecordError:
            # Deeper than the parser goes: read the records one by one, so that only the deep
            # one is refused (each record's own depth is checked by the ingest service).
            batch = _split_document(text)
        except json.JSONDecodeError as exc:
            if "\n" not in text.strip():
                raise BodyError(400, f"the body is not JSON: {exc}") from None
        else:
            batch = _from_document(document)
    if batch is None:
        batch = Batch(items=_ndjson(raw.splitlines() if text is None else text.splitlines()))
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


def _ndjson(lines: list[str] | list[bytes]) -> list[Any]:
    items: list[Any] = []
    readable = 0
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                items.append(RecordError("record", f"line {number} is not UTF-8 (byte {exc.start})"))
                continue
        if not line.strip():
            continue
        try:
            items.append(load_json(line, check_depth=False))
            readable += 1
        except RecordError as error:
            items.append(RecordError("record", f"line {number}: {error.reason}"))
        except json.JSONDecodeError as exc:
            # One unreadable line is that record's problem, not the whole body's.
            items.append(RecordError("record", f"line {number} is not JSON: {exc.msg} (column {exc.colno})"))
    if not readable:
        raise BodyError(400, "the body is neither JSON nor NDJSON (no line parses as JSON)")
    return items


# --- a body too deep to parse whole ----------------------------------------------------------

# A string (escapes and all), or a character that opens, closes or separates JSON values.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')


def _elements(text: str, start: int) -> tuple[list[str], int] | None:
    """The texts of the elements of the array opening at ``text[start]``, and where it ends."""
    depth, begin, found = 0, start + 1, []
    for token in _TOKENS.finditer(text, start):
        char = token.group()
        if char in ("[", "{"):
            depth += 1
        elif char in ("]", "}"):
            depth -= 1
            if depth == 0:
                last = text[begin : token.start()]
                if last.strip() or found:
                    found.append(last)
                return found, token.end()
        elif char == "," and depth == 1:
            found.append(text[begin : token.start()])
            begin = token.end()
    return None


def _element(text: str) -> Any:
    try:
        return load_json(text, check_depth=False)
    except RecordError as error:
        return error
    except json.JSONDecodeError as exc:
        return RecordError("record", f"not JSON: {exc.msg}")


def _records_array(text: str, start: int) -> int | None:
    """Where the array value of the top-level key "records" opens in the object at ``start``."""
    depth, key = 0, None
    for token in _TOKENS.finditer(text, start):
        char = token.group()
        if char in ("[", "{"):
            if depth == 1 and char == "[" and key == '"records"':
                return token.start()
            depth += 1
        elif char in ("]", "}"):
            depth -= 1
        elif char == ",":
            key = None
        elif depth == 1 and key is None:
            key = char  # the first string after "{" or "," at the top level is a key
    return None


def _split_document(text: str) -> Batch:
    """A body too deep to parse whole, read record by record: a JSON array of records, or
    {"format": ..., "records": [...]}. Anything else is one record, refused as too deep."""
    start = len(text) - len(text.lstrip())
    opening = start if text.startswith("[", start) else None
    if text.startswith("{", start):
        opening = _records_array(text, start)
    split = _elements(text, opening) if opening is not None else None
    if split is None:
        return Batch(items=[RecordError("record", TOO_DEEP)])
    elements, end = split
    try:
        outer = load_json(text[:opening] + "[]" + text[end:], check_depth=False)
    except RecordError:
        raise BodyError(400, f"the body is {TOO_DEEP} outside its records") from None
    except ValueError:
        raise BodyError(400, "the body is not JSON") from None
    return Batch(items=[_element(item) for item in elements], fmt=_from_document(outer).fmt)
