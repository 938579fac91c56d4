"""Honest records (issue 14): a cut stream is stored flagged incomplete and can be listed as
such; a time read from inside a body is refused under the name it has there."""

import json

import pytest

from tests.usage.ingest.sample_files import load_json, load_text
from usage.ingest._common import INCOMPLETE_NOTE
from usage.models import MessageRequest

pytestmark = pytest.mark.django_db
URL = "/api/v1/ingest/records"


@pytest.fixture
def key(alice, make_key):
    return make_key(alice, "gw")


def post(client, key, body):
    return client.post(URL, data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {key.secret}")  # fmt: skip


def cut_anthropic_stream() -> str:
    events = load_text("anthropic/stream.sse").split("\n\n")
    return "\n\n".join(event for event in events if "message_delta" not in event and "message_stop" not in event)


def test_a_cut_stream_is_stored_incomplete_with_its_known_tokens_and_listed_by_the_filter(client, alice, key):
    record = {"format": "anthropic", "request": load_json("anthropic/stream_request.json"),
              "stream": cut_anthropic_stream(), "request_id": "cut-1"}  # fmt: skip
    body = post(client, key, [record, {"request_id": "whole", "model": "m", "input_tokens": 1}]).json()
    assert body["stored"] == 2
    row = MessageRequest.objects.get(request_id="cut-1")
    assert row.incomplete and row.is_stream and row.status_code == 200
    assert row.error_message == INCOMPLETE_NOTE and row.is_error
    assert row.input_tokens > 0 and row.output_tokens < 600  # the input side from message_start, no placeholder
    client.force_login(alice)
    page = client.get("/logs/?incomplete=true")
    assert [r.request_id for r in page.context["page"].rows] == ["cut-1"]
    assert page.context["count"] == 1 and page.context["count_exact"]
    api = client.get("/api/v1/requests?incomplete=true").json()
    assert [(r["request_id"], r["incomplete"]) for r in api["results"]] == [("cut-1", True)]
    assert client.get("/api/v1/requests?incomplete=false").json()["count"] == 2


def test_a_native_record_may_say_it_is_incomplete(client, key):
    post(client, key, [{"request_id": "n", "model": "m", "is_stream": True, "incomplete": True}])
    row = MessageRequest.objects.get()
    assert row.incomplete and row.error_message == INCOMPLETE_NOTE


@pytest.mark.parametrize(
    ("record", "field"),
    [
        # the response body's own "created" (the envelope gave no created_at)
        (lambda: {k: v for k, v in load_json("openai/chat_completion.json").items() if k != "created_at"},
         "response.created"),
        # the first stream chunk's "created"
        (lambda: {"request": load_json("openai/chat_stream_request.json"),
                  "stream": load_text("openai/chat_stream_usage_last.sse")}, "stream chunk 1.created"),
        # the envelope's own created_at, when it gave one
        (lambda: load_json("openai/chat_completion.json"), "created_at"),
        # a Higress access-log line's start_time
        (lambda: json.loads(load_text("higress/access.log.jsonl").splitlines()[0]), "start_time"),
    ],
    ids=["response.created", "stream chunk", "envelope created_at", "higress start_time"],
)  # fmt: skip
def test_a_time_too_old_is_refused_under_the_name_it_was_read_from(client, key, record, field):
    # The samples carry their documentation's dates (2025), past the default retention.
    body = post(client, key, [record()]).json()
    assert body["rejected"] == 1
    assert body["errors"][0]["field"] == field
    assert "older than the log retention period" in body["errors"][0]["reason"]
