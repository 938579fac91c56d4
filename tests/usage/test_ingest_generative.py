"""The ingest API thrown arbitrary JSON and strings (issue 14): whatever a record holds, the
call never answers 500 and the good records sent beside it are stored, in every body shape
and on every ingest endpoint."""

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.usage.ingest.generative import (
    BOUNDED,
    OPENCLAW_LINES,
    OTLP_EXPORT,
    SAMPLE_RECORDS,
    characters,
    json_values,
    mutated,
)
from usage.ingest.canonical import RecordError
from usage.ingest.openclaw import parse_openclaw_lines
from usage.models import MessageRequest

pytestmark = pytest.mark.django_db
URL = "/api/v1/ingest/records"
# Each example is an HTTP call through the whole stack: fewer than the adapters' properties.
API = settings(BOUNDED, max_examples=60)
_ids = itertools.count()
OPENCLAW_URL = "/api/v1/ingest/openclaw?filename=session.jsonl"
# The sample's model calls (its other lines are not calls, or broken on purpose).
OPENCLAW_CALLS = sum(
    not isinstance(item, RecordError) for _, item in parse_openclaw_lines(OPENCLAW_LINES, source_name="s.jsonl")
)


@pytest.fixture
def key(admin_user, make_key, long_retention):
    # An admin's key: records may name users and providers, so those paths are thrown at too.
    return make_key(admin_user, "gateway")


def post(client, key, data, *, content_type="application/json", path=URL):
    return client.post(path, data=data, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {key.secret}")


def good(label):
    return {"request_id": f"good-{label}-{next(_ids)}", "model": "gpt-4o", "input_tokens": 3, "output_tokens": 2}


formats = st.sampled_from(sorted(SAMPLE_RECORDS))


@st.composite
def odd_records(draw):
    """Arbitrary JSON, or a real record of some format with arbitrary parts."""
    if draw(st.booleans()):
        return draw(json_values)
    fmt = draw(formats)
    record = mutated(draw(st.sampled_from(SAMPLE_RECORDS[fmt])), draw(st.data()))
    if isinstance(record, dict) and draw(st.booleans()):
        record = {**record, "format": fmt}
    return record


@API
@given(odd=odd_records(), shape=st.sampled_from(["array", "records", "ndjson"]))
def test_no_record_fails_its_neighbours_whatever_it_holds(client, key, odd, shape):
    first, last = good("a"), good("b")
    items = [first, odd, last]
    if shape == "array":
        response = post(client, key, json.dumps(items))
    elif shape == "records":
        response = post(client, key, json.dumps({"records": items}))
    else:
        # A value json.dumps writes over several lines stays one NDJSON line.
        lines = "\n".join(json.dumps(item) for item in items)
        response = post(client, key, lines, content_type="application/x-ndjson")
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["stored"] + body["duplicates"] + body["conflicts"] + body["rejected"] == 3
    ids = set(MessageRequest.objects.filter(request_id__in=[first["request_id"], last["request_id"]]).values_list(
        "request_id", flat=True
    ))  # fmt: skip
    assert ids == {first["request_id"], last["request_id"]}


@API
@given(text=st.text(characters, max_size=200) | st.binary(max_size=200).map(lambda raw: raw.decode("latin-1")))
def test_an_arbitrary_body_is_answered_never_with_a_500(client, key, text):
    data = text.encode("utf-8", "surrogatepass")
    for content_type in ("application/json", "application/x-ndjson"):
        response = post(client, key, data, content_type=content_type)
        assert response.status_code in (200, 400, 413), response.content[:500]


@API
@given(data=st.data())
def test_an_openclaw_file_with_arbitrary_lines_keeps_every_good_call(client, key, data):
    lines = list(OPENCLAW_LINES)
    # A session id of its own, so that the good calls are new each time, not duplicates.
    lines[0] = json.dumps({**json.loads(lines[0]), "id": f"session-{next(_ids)}"})
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        at = data.draw(st.integers(min_value=1, max_value=len(lines)))
        odd = data.draw(json_values.map(json.dumps) | st.text(characters, max_size=50))
        lines.insert(at, odd.replace("\n", " ").replace("\r", " "))
    response = post(client, key, "\n".join(lines), content_type="application/x-ndjson", path=OPENCLAW_URL)
    assert response.status_code == 200, response.content[:500]
    assert response.json()["stored"] >= OPENCLAW_CALLS


@API
@given(data=st.data())
def test_an_otlp_export_with_arbitrary_parts_is_answered_never_with_a_500(client, key, data):
    export = mutated(OTLP_EXPORT, data, times=4)
    response = post(client, key, json.dumps(export), path="/api/v1/otlp/v1/traces")
    assert response.status_code in (200, 400), response.content[:500]
