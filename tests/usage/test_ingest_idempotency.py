"""Idempotency is the owner's: a request is known by its owner's (request_id, created_at).

One user's ids never hide another user's records, a gateway's resend stays a duplicate, and a
resend with other values is answered as a conflict while the first stored version stays.
"""

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.usage.ingest.test_otlp_instrumentations import export, span
from usage.models import MessageRequest

pytestmark = pytest.mark.django_db
URL = "/api/v1/ingest/records"


@pytest.fixture(autouse=True)
def _samples_inside_retention(long_retention):
    pass


def post(client, key, records, path=URL):
    response = client.post(
        path, data=json.dumps(records), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key.secret}"
    )
    assert response.status_code == 200, response.content
    return response.json()


def native(request_id="req-1", **fields):
    record = {
        "request_id": request_id, "created_at": "2026-03-02T10:00:00Z", "model": "claude-sonnet-4-5",
        "input_tokens": 1000, "output_tokens": 500, "status_code": 200,
    }  # fmt: skip
    record.update(fields)
    return record


def owners_of(request_id):
    return sorted(MessageRequest.objects.filter(request_id=request_id).values_list("user__username", flat=True))


def test_one_users_id_never_hides_another_users_record(client, alice, bob, admin_user, make_key):
    # Alice sends first the id Bob's gateway will send later: Bob's record is still stored.
    assert post(client, make_key(alice, "a"), [native(output_tokens=1)])["stored"] == 1
    gateway = make_key(admin_user, "gateway")
    answer = post(client, gateway, [native(user="bob")])
    assert (answer["stored"], answer["duplicates"], answer["conflicts"]) == (1, 0, 0)
    assert owners_of("req-1") == ["alice", "bob"]
    assert MessageRequest.objects.get(user=bob).output_tokens == 500


def test_an_answer_never_tells_whether_another_user_sent_an_id(client, alice, bob, make_key):
    post(client, make_key(alice, "a"), [native("probe"), native("probe", created_at="2026-03-02T11:00:00Z")])
    # Bob's answer for ids Alice holds is the answer for ids nobody holds.
    taken = post(client, make_key(bob, "b"), [native("probe"), native("free")])
    assert (taken["stored"], taken["duplicates"], taken["conflicts"]) == (2, 0, 0)


def test_a_gateways_resend_naming_the_user_is_a_duplicate(client, bob, admin_user, make_key):
    gateway = make_key(admin_user, "gateway")
    records = [native("g-1", user="bob"), native("g-2", user="bob")]
    assert post(client, gateway, records)["stored"] == 2
    again = post(client, gateway, records)
    assert (again["stored"], again["duplicates"], again["duplicate_indexes"], again["conflicts"]) == (0, 2, [0, 1], 0)
    assert MessageRequest.objects.filter(user=bob).count() == 2


def test_a_resend_through_another_of_the_owners_keys_is_a_duplicate(client, alice, make_key):
    post(client, make_key(alice, "first"), [native()])
    again = post(client, make_key(alice, "second"), [native()])
    assert (again["stored"], again["duplicates"], again["conflicts"]) == (0, 1, 0)


def test_a_resend_with_other_values_is_a_conflict_and_the_first_version_stays(client, alice, make_key):
    key = make_key(alice, "a")
    post(client, key, [native(), native("req-2")])
    answer = post(client, key, [native("req-2"), native(output_tokens=650, status_code=429, error_message="slow down")])
    assert (answer["stored"], answer["duplicates"], answer["conflicts"]) == (0, 1, 1)
    assert answer["duplicate_indexes"] == [0]
    assert answer["conflict_details"] == [{"index": 1, "fields": ["status_code", "output_tokens", "error_message"]}]
    row = MessageRequest.objects.get(request_id="req-1")
    assert (row.output_tokens, row.status_code, row.error_message) == (500, 200, "")


def test_two_versions_in_one_call_keep_the_first(client, alice, make_key):
    answer = post(client, make_key(alice, "a"), [native(), native(model="gpt-5"), native()])
    assert (answer["stored"], answer["duplicate_indexes"]) == (1, [2])
    assert answer["conflict_details"] == [{"index": 1, "fields": ["model", "original_model"]}]
    assert MessageRequest.objects.get().model == "claude-sonnet-4-5"


def test_records_without_a_time_are_known_by_their_owners_id(client, alice, bob, make_key):
    untimed = native("no-time")
    del untimed["created_at"]
    alice_key = make_key(alice, "a")
    post(client, alice_key, [untimed])
    assert post(client, make_key(bob, "b"), [untimed])["stored"] == 1  # Bob's own request
    again = post(client, alice_key, [untimed, {**untimed, "input_tokens": 7}])
    assert again["duplicate_indexes"] == [0]
    assert again["conflict_details"] == [{"index": 1, "fields": ["input_tokens"]}]
    assert owners_of("no-time") == ["alice", "bob"]


def test_an_otlp_span_sent_again_with_other_values_is_reported_not_stored(client, alice, make_key):
    key = make_key(alice, "app")
    failed = span(trace="ab" * 16, **{"gen_ai.request.model": "claude-sonnet-4-5", "error.type": "rate_limit_error"})
    assert post(client, key, export(failed), path="/api/v1/otlp/v1/traces") == {}
    retried = span(trace="ab" * 16, **{"gen_ai.request.model": "claude-sonnet-4-5", "error.type": "overloaded_error"})
    partial = post(client, key, export(retried), path="/api/v1/otlp/v1/traces")["partialSuccess"]
    assert partial["rejectedSpans"] == 0
    assert "span 0: sent before with other status_code" in partial["errorMessage"]
    assert list(MessageRequest.objects.values_list("status_code", flat=True)) == [429]


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_stored_row_and_scopes_the_unique_key_to_the_owner(alice, bob, make_request_row):
    executor = MigrationExecutor(connection)
    before, after = ("usage", "0015_no_price_index"), ("usage", "0016_owner_scoped_idempotency")
    try:
        executor.migrate([before])
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO message_request (request_id, created_at, user_id, model, original_model, endpoint, "
                "is_stream, input_tokens, output_tokens, cache_creation_tokens, cache_creation_5m_tokens, "
                "cache_creation_1h_tokens, cache_read_tokens, reasoning_tokens, price_missing, cost_multiplier, "
                "session_id, user_agent, blocked_by, blocked_reason, error_message) "
                "SELECT 'old-' || n, now() - n * interval '1 minute', %s, 'm', 'm', '/v1/messages', false, "
                "n, 0, 0, 0, 0, 0, 0, false, 1, '', '', '', '', '' FROM generate_series(1, 5) n",
                [alice.pk],
            )
        executor = MigrationExecutor(connection)
        executor.migrate([after])
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes("usage"))
    assert sorted(MessageRequest.objects.filter(user=alice).values_list("input_tokens", flat=True)) == [1, 2, 3, 4, 5]
    old = MessageRequest.objects.filter(user=alice).first()
    # The same id and time is now another request for another owner, and still one for its own.
    assert make_request_row(user=bob, request_id=old.request_id, created_at=old.created_at).user_id == bob.pk
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'message_request'::regclass "
            "AND contype = 'u'"
        )
        assert [row[0] for row in cursor.fetchall()] == ["UNIQUE (user_id, request_id, created_at)"]
