"""Every adapter, thrown arbitrary JSON and strings (NUL, lone surrogates, wrong types, deep
nesting): it either returns a record PostgreSQL can store or raises RecordError naming a
field. Anything else would be a 500 for the whole call (issue 14)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.usage.ingest.generative import (
    BOUNDED,
    OPENCLAW_JSON,
    OPENCLAW_LINES,
    OTLP_EXPORT,
    SAMPLE_RECORDS,
    json_objects,
    json_values,
    mutated,
    texts,
)
from usage.ingest._common import FREE_TEXT_FIELDS, IDENTIFYING_FIELDS
from usage.ingest.canonical import CanonicalRecord, RecordError
from usage.ingest.detect import SINGLE_RECORD_PARSERS, parse_record
from usage.ingest.openclaw import parse_openclaw_lines
from usage.ingest.otlp import parse_otlp_json

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def assert_storable(record: CanonicalRecord) -> None:
    for name in (*IDENTIFYING_FIELDS, *FREE_TEXT_FIELDS):
        value = getattr(record, name)
        if name == "request_id" and value is None:
            continue  # the service gives it one
        assert isinstance(value, str), (name, value)
        assert not UNSTORABLE.search(value), (name, value)
    # What the bulk write does with the JSON columns: it must not raise.
    orjson.dumps(record.attributes)
    orjson.dumps(record.provider_chain)
    assert not UNSTORABLE.search(json.dumps(record.attributes, ensure_ascii=False))
    assert record.status_code is None or isinstance(record.status_code, int)


def outcome(parse, value: Any) -> None:
    try:
        record = parse(value)
    except RecordError as error:
        assert isinstance(error.field, str) and isinstance(error.reason, str)
        return
    assert_storable(record)


@pytest.mark.parametrize("fmt", sorted(SINGLE_RECORD_PARSERS))
@BOUNDED
@given(value=json_values | json_objects)
def test_an_adapter_given_any_json_returns_a_storable_record_or_a_record_error(fmt, value):
    outcome(lambda item: parse_record(item, fmt), value)


@pytest.mark.parametrize("fmt", sorted(SINGLE_RECORD_PARSERS))
@BOUNDED
@given(data=st.data())
def test_an_adapter_given_a_real_record_with_arbitrary_parts_returns_a_storable_record_or_a_record_error(fmt, data):
    sample = data.draw(st.sampled_from(SAMPLE_RECORDS[fmt]))
    outcome(lambda item: parse_record(item, fmt), mutated(sample, data))


@BOUNDED
@given(value=json_values | texts)
def test_format_detection_then_parsing_never_raises_anything_but_a_record_error(value):
    outcome(parse_record, value)


@BOUNDED
@given(data=st.data())
def test_an_openclaw_file_with_arbitrary_lines_yields_storable_records_or_record_errors(data):
    lines = list(OPENCLAW_LINES)
    for at in data.draw(st.lists(st.sampled_from(OPENCLAW_JSON), max_size=2)):
        lines[at] = json.dumps(mutated(json.loads(lines[at]), data))
    for _ in range(data.draw(st.integers(min_value=0, max_value=2))):
        at = data.draw(st.integers(min_value=0, max_value=len(lines)))
        lines.insert(at, data.draw(json_values.map(json.dumps) | texts))
    name = data.draw(st.sampled_from(["s.jsonl", "a\x00b.jsonl", "x" * 200 + ".jsonl"]))
    for _number, item in parse_openclaw_lines(lines, source_name=name):
        if not isinstance(item, RecordError):
            assert_storable(item)


@BOUNDED
@given(data=st.data())
def test_an_otlp_export_with_arbitrary_parts_yields_storable_records_or_record_errors(data):
    try:
        results = parse_otlp_json(mutated(OTLP_EXPORT, data, times=4))
    except RecordError:
        return
    for item in results:
        if not isinstance(item, RecordError):
            assert_storable(item)


def test_the_properties_reach_past_the_first_check():
    """The samples the properties start from are records the adapters accept (all but the one
    Higress line that deliberately has no ai_log), so the mutations reach the adapters' depths."""
    refused = [
        (fmt, outcome.field)
        for fmt, samples in SAMPLE_RECORDS.items()
        for outcome in [_try(lambda s, f=fmt: parse_record(s, f), sample) for sample in samples]
        if isinstance(outcome, RecordError)
    ]
    assert refused == [("higress", "ai_log")]


def _try(parse, value):
    try:
        return parse(value)
    except RecordError as error:
        return error
