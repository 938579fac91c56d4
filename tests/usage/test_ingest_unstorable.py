"""Values PostgreSQL cannot store (NUL, lone surrogates, very deep JSON) in every format and
endpoint: each is one record's rejection or the README's repair, never a 500 that loses the
good records beside it."""

import json

import pytest

from hub.models import SystemSettings
from tests.usage.ingest.sample_files import load_json, load_text
from usage.models import MessageRequest

pytestmark = pytest.mark.django_db
URL = "/api/v1/ingest/records"
NUL, SURROGATE = "\x00", "\ud800"
DEEP = 2_000  # past what any JSON parser here accepts (orjson 1,024, Python's about 1,000)


@pytest.fixture
def key(alice, make_key):
    return make_key(alice, "gw")


def post(client, key, body, *, content_type="application/json", path=URL):
    # json.dumps writes NUL and lone surrogates as \u escapes, as a real sender's JSON would.
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(path, data=data, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {key.secret}")


def native(request_id, **fields):
    record = {"request_id": request_id, "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5}
    record.update(fields)
    return record


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def stored_ids():
    return set(MessageRequest.objects.values_list("request_id", flat=True))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("request_id", f"r{NUL}x"),
        ("request_id", f"r{SURROGATE}x"),
        ("model", f"gpt{NUL}"),
        ("session_id", f"s{SURROGATE}"),
        ("endpoint", f"/v1/{NUL}"),
        ("provider", f"p{SURROGATE}"),
    ],
)
def test_an_identifying_value_postgresql_cannot_store_is_that_records_rejection(client, key, field, value):
    response = post(client, key, [native("good-1"), {**native("bad"), field: value}, native("good-2")])
    assert response.status_code == 200
    body = response.json()
    assert (body["stored"], body["rejected"]) == (2, 1)
    error = body["errors"][0]
    assert error["index"] == 1 and error["field"] in (field, "provider_name")
    assert "NUL" in error["reason"] or "surrogate" in error["reason"]
    assert stored_ids() == {"good-1", "good-2"}


def test_free_text_is_repaired_as_the_readme_says(client, key):
    record = native(
        "repaired",
        error_message=f"boom{NUL}!{SURROGATE}",
        user_agent=f"agent{NUL}/1",
        attributes={"note": f"a{NUL}b{SURROGATE}c", "list": [f"x{NUL}", {"deep": SURROGATE}]},
        provider_chain=[{"provider": "p", "reason": f"r{NUL}"}],
    )
    assert post(client, key, [record]).json()["stored"] == 1
    row = MessageRequest.objects.get()
    assert row.error_message == "boom!\ufffd" and row.user_agent == "agent/1"
    assert row.attributes == {"note": "ab\ufffdc", "list": ["x", {"deep": "\ufffd"}]}
    assert row.provider_chain == [{"provider": "p", "reason": "r"}]


def test_an_attribute_key_postgresql_cannot_store_is_refused_not_merged(client, key):
    body = post(client, key, [native("k", attributes={f"a{NUL}": 1, "a": 2}), native("ok")]).json()
    assert body["stored"] == 1 and body["errors"][0]["field"] == "attributes"
    assert "key" in body["errors"][0]["reason"]


def test_an_integer_past_64_bits_in_attributes_is_refused(client, key):
    # The lone surrogate beside it sends the body through the exact parser, which keeps 2**70 whole.
    body = post(client, key, [native("big", attributes={"n": 2**70}), native("ok", error_message=SURROGATE)]).json()
    assert body["stored"] == 1 and body["errors"][0] == {
        "index": 0,
        "field": "attributes.n",
        "reason": "holds an integer larger than 64 bits",
    }


def test_an_unknown_field_named_with_a_surrogate_is_answered_printably(client, key):
    body = post(client, key, [{**native("x"), f"odd{SURROGATE}": 1}, native("ok")]).json()
    assert body["stored"] == 1 and body["errors"][0]["field"] == "odd\\ud800"


def test_a_record_nested_too_deep_to_parse_fails_only_itself_in_an_array(client, key):
    text = "[" + json.dumps(native("a")) + "," + nested(DEEP) + "," + json.dumps(native("b")) + "]"
    body = post(client, key, text).json()
    assert (body["stored"], body["rejected"]) == (2, 1)
    assert body["errors"] == [{"index": 1, "field": "record", "reason": "nested deeper than 100 levels"}]
    assert stored_ids() == {"a", "b"}


def test_a_record_nested_too_deep_to_parse_fails_only_itself_in_a_records_object(client, key):
    text = '{"format": "native", "records": [' + json.dumps(native("a")) + "," + nested(DEEP) + "]}"
    body = post(client, key, text).json()
    assert (body["stored"], body["rejected"]) == (1, 1) and body["errors"][0]["index"] == 1


def test_a_single_record_nested_too_deep_is_its_rejection_not_a_500(client, key):
    response = post(client, key, nested(DEEP))
    assert response.status_code == 200 and response.json()["errors"][0]["field"] == "record"


def test_an_ndjson_line_nested_too_deep_or_not_utf8_fails_only_itself(client, key):
    lines = [json.dumps(native("a")).encode(), nested(DEEP).encode(), b'{"request_id": "\xff"}', b""]
    lines.insert(3, json.dumps(native("b")).encode())
    body = post(client, key, b"\n".join(lines), content_type="application/x-ndjson").json()
    assert body["stored"] == 2 and stored_ids() == {"a", "b"}
    reasons = {error["index"]: error["reason"] for error in body["errors"]}
    assert reasons == {1: "line 2: nested deeper than 100 levels", 2: "line 3 is not UTF-8 (byte 16)"}


def test_a_record_parsed_but_deeper_than_the_hub_stores_is_refused_naming_the_field(client, key):
    deep = json.loads(nested(150))
    body = post(client, key, [native("deep", attributes=deep), native("ok")]).json()
    assert body["stored"] == 1
    assert body["errors"][0] == {"index": 0, "field": "attributes", "reason": "nested deeper than 100 levels"}


@pytest.fixture
def keep_messages(db):
    settings_row = SystemSettings.get()
    settings_row.store_session_messages = True
    settings_row.session_messages_days = 3650  # the samples carry their documentation's dates
    settings_row.save()


def test_a_stream_with_unstorable_text_is_stored_repaired(client, key, keep_messages):
    stream = load_text("anthropic/stream.sse").replace('"text":"Let me check "', '"text":"Let\\u0000 me\\ud800 check "')
    record = {"format": "anthropic", "request": load_json("anthropic/stream_request.json"), "stream": stream}
    body = post(client, key, [record, native("ok")]).json()
    assert body["stored"] == 2
    row = MessageRequest.objects.exclude(request_id="ok").get()
    assert row.attributes["answer"].startswith("Let me\ufffd check today's weather")


def test_an_sse_event_nested_too_deep_is_that_records_rejection(client, key):
    stream = "event: message_start\ndata: " + nested(DEEP) + "\n\n"
    record = {"format": "anthropic", "request": {}, "stream": stream}
    body = post(client, key, [record, native("ok")]).json()
    assert body["stored"] == 1 and body["errors"][0]["field"] == "stream"
    assert "nested deeper" in body["errors"][0]["reason"]


def test_an_openclaw_file_with_unstorable_or_too_deep_lines_keeps_its_good_lines(client, alice, key):
    path = "/api/v1/ingest/openclaw?filename=3f9a1c2e-7b4d-4e8f-9a0b-1c2d3e4f5a6b.jsonl"
    content = load_text("openclaw/3f9a1c2e-7b4d-4e8f-9a0b-1c2d3e4f5a6b.jsonl")
    good = post(client, key, content, content_type="application/x-ndjson", path=path).json()["stored"]
    MessageRequest.objects.all().delete()
    lines = content.splitlines()
    # A NUL inside the model name (refused), a surrogate in the line (its hash must not break),
    # and a line too deep to parse.
    broken = [line.replace('"model":"', '"model":"\\u0000', 1) for line in lines if '"usage"' in line][:1]
    odd = ['{"type":"message","id":"odd","parentId":null,"message":{"role":"assistant","content":"\\ud800",'
           '"usage":{"input":1,"output":1}}}']  # fmt: skip
    body = post(client, key, "\n".join([*lines, *broken, *odd, nested(DEEP)]),
                content_type="application/x-ndjson", path=path).json()  # fmt: skip
    assert body["stored"] == good + 1
    reasons = [error["reason"] for error in body["errors"]]
    assert any("NUL" in reason for reason in reasons) and "nested deeper than 100 levels" in reasons


def test_otlp_json_too_deep_is_a_400_and_unstorable_span_text_is_repaired(client, key, keep_messages, long_retention):
    deep = post(client, key, '{"resourceSpans": [' + nested(DEEP) + "]}", path="/api/v1/otlp/v1/traces")
    assert deep.status_code == 400 and "nested deeper" in deep.json()["detail"]
    export = load_json("otlp/traces.json")
    clean = post(client, key, export, path="/api/v1/otlp/v1/traces")
    assert clean.status_code == 200 and MessageRequest.objects.exists()
    stored = MessageRequest.objects.count()
    MessageRequest.objects.all().delete()
    # Escaped twice: the message list is JSON text inside the attribute's string.
    text = json.dumps(export).replace("My order", "My\\\\u0000 order\\\\ud800")
    response = post(client, key, text, path="/api/v1/otlp/v1/traces")
    assert response.status_code == 200 and MessageRequest.objects.count() == stored
    questions = [(row.attributes or {}).get("question") for row in MessageRequest.objects.all()]
    assert "My order\ufffd #4411 never arrived." in questions


def test_depth_is_checked_before_a_large_body_is_measured_record_by_record(client, key):
    # Over 1 MB the service measures each record; a record 1,020 levels deep (orjson reads up
    # to 1,024) must be refused as too deep before that, which would hit Python's recursion limit.
    padding = [native(f"big-{n}", attributes={"note": "x" * 600_000}) for n in range(2)]
    text = "[" + ",".join(json.dumps(item) for item in padding) + "," + nested(1020) + "]"
    body = post(client, key, text).json()
    assert body["errors"] == [{"index": 2, "field": "a", "reason": "nested deeper than 100 levels"}]
    assert body["stored"] == 2
