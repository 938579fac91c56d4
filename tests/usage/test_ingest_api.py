"""POST /api/v1/ingest/records and friends, through the real HTTP stack, key auth, database."""

import gzip
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from hub.models import ApiKey, SystemSettings
from providers.models import ModelPrice, Provider
from tests.usage.ingest.sample_files import envelope, load_json, load_text
from usage.models import MessageRequest

pytestmark = pytest.mark.django_db
URL = "/api/v1/ingest/records"


@pytest.fixture(autouse=True)
def _samples_inside_retention(long_retention):
    pass


@pytest.fixture
def anthropic_provider(db):
    return Provider.objects.create(name="anthropic-main", type="claude", cost_multiplier=Decimal("0.8"))


@pytest.fixture
def alice_key(alice, make_key):
    return make_key(alice, "alice-gw")


@pytest.fixture
def admin_key(admin_user, make_key):
    return make_key(admin_user, "gateway")


def post(client, key, body, *, content_type="application/json", path=URL, **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(path, data=data, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {key.secret}", **headers)


def native(request_id="r-1", **fields):
    record = {
        "request_id": request_id, "created_at": "2026-03-02T10:00:00Z", "model": "claude-sonnet-4-5",
        "provider": "anthropic-main", "input_tokens": 1000, "output_tokens": 500, "status_code": 200,
    }  # fmt: skip
    record.update(fields)
    return record


def test_a_native_record_is_stored_priced_and_attributed_to_the_keys_owner(
    client, alice, alice_key, anthropic_provider
):
    response = post(client, alice_key, [native(cache_read_tokens=2000, cache_creation_tokens=400)])
    assert response.status_code == 200
    assert response.json() == {
        "stored": 1, "duplicates": 0, "conflicts": 0, "rejected": 0, "duplicate_indexes": [], "conflict_details": [],
        "errors": [],
    }  # fmt: skip
    row = MessageRequest.objects.get(request_id="r-1")
    assert row.user == alice and row.key == alice_key.key and row.provider == anthropic_provider
    # 1000 x $3 + 500 x $15 + 2000 x $0.30 + 400 x $3.75 per million, x 0.8 multiplier
    assert row.cost == Decimal("0.0100800000")
    assert row.cost_multiplier == Decimal("0.8")
    assert row.cost_breakdown["kinds"]["cache_read"]["price_per_million"] == "0.3"
    assert row.cost_breakdown["total"] == "0.0100800000"
    assert not row.price_missing


def test_sending_the_same_records_again_stores_nothing_new(client, alice_key, anthropic_provider):
    records = [native("a"), native("b"), native("a")]
    first = post(client, alice_key, records).json()
    assert (first["stored"], first["duplicates"], first["duplicate_indexes"]) == (2, 1, [2])
    again = post(client, alice_key, records).json()
    assert (again["stored"], again["duplicates"]) == (0, 3)
    assert MessageRequest.objects.count() == 2


def test_a_record_without_a_timestamp_is_not_doubled_by_a_resend(client, alice_key):
    record = native("no-time")
    del record["created_at"]
    assert post(client, alice_key, [record]).json()["stored"] == 1
    assert post(client, alice_key, [record]).json()["duplicates"] == 1
    assert MessageRequest.objects.filter(request_id="no-time").count() == 1


def test_a_bad_record_never_fails_its_neighbours(client, alice_key):
    bad = [
        native("ok-1"),
        native("neg", input_tokens=-5),
        native("type", output_tokens="lots"),
        native("zone", created_at="2026-03-02T10:00:00"),
        native("extra", colour="blue"),
        native("long", model="m" * 500),
        native("huge", input_tokens=3_000_000_000),
        "not an object",
        native("ok-2"),
    ]
    body = post(client, alice_key, bad).json()
    assert body["stored"] == 2 and body["rejected"] == 7
    reasons = {error["index"]: (error["field"], error["reason"]) for error in body["errors"]}
    assert reasons[1][0] == "input_tokens"
    assert reasons[2][0] == "output_tokens"
    assert reasons[3][0] == "created_at" and "zone" in reasons[3][1]
    assert reasons[4] == ("colour", "unknown field")
    assert reasons[5][0] == "model"
    assert reasons[6][0] == "input_tokens" and "larger" in reasons[6][1]
    assert set(MessageRequest.objects.values_list("request_id", flat=True)) == {"ok-1", "ok-2"}


def test_an_oversized_record_is_refused_alone(client, alice_key):
    huge = native("big", attributes={"question": "x" * 10_500_000})
    response = post(client, alice_key, [native("small"), huge])
    body = response.json()
    assert response.status_code == 200 and body["stored"] == 1
    assert body["errors"][0]["index"] == 1 and "bytes" in body["errors"][0]["reason"]


@pytest.mark.parametrize(
    ("payload", "content_type", "status", "words"),
    [
        (b"{not json", "application/json", 400, "not JSON"),
        (b"", "application/json", 400, "empty"),
        (b"\xff\xfe\x00", "application/json", 400, "UTF-8"),
        (b"42", "application/json", 400, "JSON array"),
    ],
)
def test_an_unreadable_body_is_a_400_saying_why(client, alice_key, payload, content_type, status, words):
    response = post(client, alice_key, payload, content_type=content_type)
    assert response.status_code == status
    assert words in response.json()["detail"]
    assert not MessageRequest.objects.exists()


def test_ndjson_and_gzip_bodies_are_accepted_and_a_bad_line_is_one_rejection(client, alice_key):
    lines = "\n".join([json.dumps(native("n-1")), "{oops", json.dumps(native("n-2"))])
    body = post(client, alice_key, gzip.compress(lines.encode()), content_type="application/x-ndjson",
                HTTP_CONTENT_ENCODING="gzip").json()  # fmt: skip
    assert body["stored"] == 2 and body["errors"][0]["index"] == 1 and "line 2" in body["errors"][0]["reason"]


def test_more_than_5000_records_is_refused_whole(client, alice_key):
    response = post(client, alice_key, [native(f"r{i}") for i in range(5001)])
    assert response.status_code == 413
    assert not MessageRequest.objects.exists()


def test_key_scope_and_state_are_enforced(client, alice, make_key):
    read_only = make_key(alice, "ro", scope_ingest=False)
    assert post(client, read_only, [native()]).status_code == 403
    disabled = make_key(alice, "off")
    ApiKey.objects.filter(pk=disabled.key.pk).update(enabled=False)
    assert post(client, disabled, [native()]).status_code == 401
    assert client.post(URL, data="[]", content_type="application/json").status_code == 401
    assert not MessageRequest.objects.exists()


def test_ingest_is_rate_limited_per_key_with_retry_after(client, alice, make_key, mid_minute):
    settings_row = SystemSettings.get()
    settings_row.ingest_rate_per_minute = 2
    settings_row.save()
    key, other = make_key(alice, "k1"), make_key(alice, "k2")
    assert [post(client, key, [native(f"x{i}")]).status_code for i in range(3)] == [200, 200, 429]
    limited = post(client, key, [native("x9")])
    assert limited.status_code == 429 and 1 <= int(limited["Retry-After"]) <= 60
    assert post(client, other, [native("y")]).status_code == 200
    cache.clear()


def test_a_users_key_cannot_name_another_user(client, alice_key, bob):
    body = post(client, alice_key, [native(user="bob")]).json()
    assert body["rejected"] == 1 and body["errors"][0]["field"] == "user"


def test_an_admins_key_may_name_the_user_by_name_or_key_prefix(client, admin_key, alice, bob, make_key):
    bobs_key = make_key(bob, "laptop")
    body = post(client, admin_key, [native("1", user="alice"), native("2", user=bobs_key.key.prefix),
                                    native("3", user="nobody")]).json()  # fmt: skip
    assert body["stored"] == 2 and body["errors"][0] == {
        "index": 2,
        "field": "user",
        "reason": body["errors"][0]["reason"],
    }
    owners = dict(MessageRequest.objects.values_list("request_id", "user__username"))
    assert owners == {"1": "alice", "2": "bob"}


@pytest.mark.parametrize(
    ("model", "provider_type", "priced_as"),
    [
        ("claude-sonnet-4-5-20250929", "claude", "claude-sonnet-4-5"),
        ("gpt-4o-2024-08-06", "openai", "gpt-4o"),
        ("openai/gpt-4o", "openai-compatible", "gpt-4o"),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", "other", "claude-sonnet-4-5"),
    ],
)
def test_dated_and_prefixed_model_names_are_priced_from_the_catalogue(
    client, alice_key, model, provider_type, priced_as
):
    post(client, alice_key, [native(model=model, provider="", provider_type=provider_type)])
    row = MessageRequest.objects.get()
    assert row.cost is not None and not row.price_missing
    assert row.cost_breakdown["model"] == model
    assert row.cost_breakdown["price"]["model"] == priced_as
    assert row.cost_breakdown["price"]["source"].startswith("genai-prices")


def test_an_admin_price_overrides_the_catalogue_and_the_row_says_which(client, alice_key, anthropic_provider):
    override = ModelPrice.objects.create(
        model="claude-sonnet-4-5",
        provider_type="claude",
        input_price=2,
        output_price=10,
        effective_from=date(2026, 1, 1),
    )
    post(client, alice_key, [native(model="claude-sonnet-4-5-20250929")])
    row = MessageRequest.objects.get()
    assert row.cost == Decimal("0.0056000000")  # (1000 x $2 + 500 x $10 per million) x 0.8
    assert row.cost_breakdown["price"]["source"] == "admin"
    assert row.cost_breakdown["price"]["model_price_id"] == override.pk


def test_an_unknown_model_gets_no_cost_and_is_flagged(client, alice_key):
    post(client, alice_key, [native(model="internal-llm-9000")])
    row = MessageRequest.objects.get()
    assert row.cost is None and row.price_missing


def test_redirected_model_bills_what_ran_unless_the_setting_says_original(client, alice_key):
    post(client, alice_key, [native("ran", model="claude-opus-4-5", original_model="claude-haiku-4-5")])
    settings_row = SystemSettings.get()
    settings_row.bill_original_model = True
    settings_row.save()
    post(client, alice_key, [native("asked", model="claude-opus-4-5", original_model="claude-haiku-4-5")])
    ran, asked = MessageRequest.objects.get(request_id="ran"), MessageRequest.objects.get(request_id="asked")
    assert (ran.model, ran.original_model) == ("claude-opus-4-5", "claude-haiku-4-5")
    assert ran.cost == Decimal("0.0175000000")  # 1000 x $5 + 500 x $25 per million
    assert asked.cost == Decimal("0.0035000000")  # 1000 x $1 + 500 x $5 per million


def test_cache_writes_without_cache_prices_use_the_published_ratio(client, alice_key):
    ModelPrice.objects.create(
        model="claude-next", provider_type="claude", input_price=4, output_price=20, effective_from=date(2026, 1, 1)
    )
    record = native(model="claude-next", provider_type="claude", provider="", input_tokens=0, output_tokens=0)
    record.update(cache_creation_tokens=1000, cache_creation_1h_tokens=1000)
    post(client, alice_key, [record])
    row = MessageRequest.objects.get()
    assert row.cost == Decimal("0.0080000000")  # 1000 x ($4 x 2 for 1-hour writes) per million
    assert row.cost_breakdown["kinds"]["cache_creation_1h"]["price_from_ratio"] is True


def test_messages_are_stored_only_when_the_setting_is_on_and_cut_to_the_limit(client, alice_key, anthropic_provider):
    attributes = {"question": "q" * 50, "answer": "a", "route": "r1"}
    post(client, alice_key, [native("off", attributes=attributes)])
    settings_row = SystemSettings.get()
    settings_row.store_session_messages, settings_row.attribute_max_length = True, 10
    settings_row.save()
    recent = timezone.now().isoformat()
    post(client, alice_key, [native("on", attributes=attributes, created_at=recent)])
    # Older than the messages' own lifetime (7 days): never kept longer than its neighbours.
    post(client, alice_key, [native("old", attributes=attributes)])
    assert MessageRequest.objects.get(request_id="off").attributes == {"route": "r1"}
    assert MessageRequest.objects.get(request_id="old").attributes == {"route": "r1"}
    assert MessageRequest.objects.get(request_id="on").attributes == {
        "question": "q" * 10,
        "answer": "a",
        "route": "r1",
    }


def test_session_id_comes_from_the_configured_header_then_the_agent_headers(client, alice_key):
    settings_row = SystemSettings.get()
    settings_row.session_header = "X-Team-Session"
    settings_row.save()
    post(client, alice_key, [
        native("h1", headers={"x-agent-session": "agent-1"}),
        native("h2", headers={"x-agent-session": "agent-2", "X-Team-Session": "team-2"}),
        native("h3", session_id="explicit", headers={"X-Team-Session": "team-3"}),
    ])  # fmt: skip
    sessions = dict(MessageRequest.objects.values_list("request_id", "session_id"))
    assert sessions == {"h1": "agent-1", "h2": "team-2", "h3": "explicit"}


def test_key_last_used_is_recorded(client, alice_key):
    post(client, alice_key, [native()])
    alice_key.key.refresh_from_db()
    assert alice_key.key.last_used_at is not None


@pytest.mark.parametrize(
    ("fmt", "item"),
    [
        ("openai", lambda: {"request": load_json("openai/chat_stream_usage_with_choices_request.json"),
                            "stream": load_text("openai/chat_stream_usage_with_choices.sse"), "request_id": "oa-1"}),
        ("anthropic", lambda: envelope("anthropic/stream_request.json", "anthropic/stream.sse", request_id="an-1")),
        ("gemini", lambda: envelope("gemini/stream_request.json", "gemini/stream.sse", request_id="ge-1")),
        ("higress", lambda: load_json("higress/ai_log_only.json")),
    ],
)  # fmt: skip
def test_every_single_record_format_is_accepted_by_the_endpoint(client, alice_key, fmt, item):
    record = item()
    named = post(client, alice_key, [record], path=f"{URL}?format={fmt}").json()
    assert named["stored"] == 1, named
    row = MessageRequest.objects.get()
    assert row.input_tokens + row.output_tokens + row.cache_read_tokens + row.cache_creation_tokens > 0
    MessageRequest.objects.all().delete()
    detected = post(client, alice_key, [record]).json()
    assert detected["stored"] == 1, detected


def test_unknown_format_parameter_is_a_400_naming_it(client, alice_key):
    response = post(client, alice_key, [native()], path=f"{URL}?format=xml")
    assert response.status_code == 400 and "format" in response.json()["detail"]


def test_openclaw_upload_imports_once_and_skips_backup_files(client, alice, alice_key):
    path = "/api/v1/ingest/openclaw?filename=3f9a1c2e-7b4d-4e8f-9a0b-1c2d3e4f5a6b.jsonl"
    content = load_text("openclaw/3f9a1c2e-7b4d-4e8f-9a0b-1c2d3e4f5a6b.jsonl")
    first = post(client, alice_key, content, content_type="application/x-ndjson", path=path).json()
    assert first["stored"] > 0
    again = post(client, alice_key, content, content_type="application/x-ndjson", path=path).json()
    assert again["stored"] == 0 and again["duplicates"] == first["stored"]
    skipped = post(client, alice_key, content, content_type="application/x-ndjson",
                   path="/api/v1/ingest/openclaw?filename=s.jsonl.bak.1").json()  # fmt: skip
    assert skipped["stored"] == 0 and "skipped" in skipped["detail"]
    assert MessageRequest.objects.filter(user=alice).count() == first["stored"]


def test_otlp_json_and_protobuf_exports_become_records(client, alice_key):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    export = load_json("otlp/traces.json")
    response = post(client, alice_key, export, path="/api/v1/otlp/v1/traces")
    assert response.status_code == 200
    stored = MessageRequest.objects.count()
    assert stored > 0
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from usage.ingest.otlp import _request_as_json  # noqa: F401  (the adapter's own round trip)

    message = ParseDict(export, ExportTraceServiceRequest())
    proto = post(client, alice_key, message.SerializeToString(), content_type="application/x-protobuf",
                 path="/api/v1/otlp/v1/traces")  # fmt: skip
    assert proto.status_code == 200 and proto["Content-Type"] == "application/x-protobuf"
    ExportTraceServiceResponse().ParseFromString(proto.content)
    assert MessageRequest.objects.count() == stored  # the same spans: idempotent


def test_the_openapi_schema_documents_ingestion(client, alice):
    client.force_login(alice)
    schema = client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/v1/ingest/records" in schema["paths"]
    assert "ApiKey" in schema["components"]["securitySchemes"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content and b"cdn" not in docs.content.lower()


def test_a_users_key_naming_an_unknown_provider_keeps_the_name_without_creating_it(client, alice_key):
    post(client, alice_key, [native(provider="mystery-upstream")])
    row = MessageRequest.objects.get()
    assert row.provider is None and row.attributes == {"provider": "mystery-upstream"}
    assert not Provider.objects.filter(name="mystery-upstream").exists()


def test_an_admins_gateway_key_teaches_the_hub_its_upstreams(client, admin_key):
    post(client, admin_key, [native(provider="new-upstream", provider_type="deepseek")])
    assert MessageRequest.objects.get().provider == Provider.objects.get(name="new-upstream", type="deepseek")


def test_records_older_than_the_retention_period_or_from_the_future_are_refused(client, alice_key):
    from datetime import UTC, datetime, timedelta

    settings_row = SystemSettings.get()
    settings_row.log_retention_days = 90
    settings_row.save()
    too_old = (datetime.now(UTC) - timedelta(days=91)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body = post(client, alice_key, [native("old", created_at=too_old), native("next", created_at=future)]).json()
    assert body["rejected"] == 2
    assert [error["field"] for error in body["errors"]] == ["created_at", "created_at"]
    assert "retention" in body["errors"][0]["reason"]


def test_a_body_nested_too_deep_is_never_a_500(client, alice_key):
    deep = b"[" * 200_000 + b"]" * 200_000
    # A JSON array whose one record is too deep: that record's rejection (README), not a 500.
    response = post(client, alice_key, deep)
    assert response.status_code == 200
    assert response.json()["errors"] == [{"index": 0, "field": "record", "reason": "nested deeper than 100 levels"}]
    # NDJSON whose only line is too deep: no line is readable, so the body is.
    assert post(client, alice_key, deep, content_type="application/x-ndjson").status_code == 400
