"""Sessions kept current from the write path: exact totals, one per user and id, visibility."""

import html
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Max, Min, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hub.models import SystemSettings
from sessions_app.models import Session
from sessions_app.selectors import ACTIVE_SESSION_WINDOW
from sessions_app.services import conversations_expire
from usage.bulk import RequestRow
from usage.models import MessageRequest
from usage.retention import retention_apply
from usage.services import requests_store

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 5, 3, 9, 0, tzinfo=UTC)
SUMMED = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "reasoning_tokens", "cost")


def row(user, number: int, *, session="s-1", at=None, **fields) -> RequestRow:
    values = {"model": "claude-sonnet-4-5", "endpoint": "/v1/messages", "status_code": 200,
              "input_tokens": 100 + number, "output_tokens": 10 * number, "cache_read_tokens": number,
              "cost": Decimal("0.001") * number, "duration_ms": 1000 + number, "session_id": session}  # fmt: skip
    values.update(fields)
    return RequestRow(request_id=f"{session}-{number}", created_at=at or T0 + timedelta(minutes=number),
                      user_id=user.pk, **values)  # fmt: skip


def from_raw_rows(user, session_id: str) -> dict:
    rows = MessageRequest.objects.filter(user=user, session_id=session_id)
    found = rows.aggregate(requests=Count("id"), first=Min("created_at"), last=Max("created_at"),
                           **{name: Sum(name) for name in SUMMED})  # fmt: skip
    found["errors"] = sum(r.is_error for r in rows)
    return found


def stored(user, session_id: str) -> dict:
    s = Session.objects.get(user=user, session_id=session_id)
    return {"requests": s.requests, "first": s.first_request_at, "last": s.last_request_at, "errors": s.errors,
            **{name: getattr(s, name) for name in SUMMED}}  # fmt: skip


def test_totals_equal_the_raw_rows_after_resends_and_out_of_order_arrivals(alice):
    requests_store([row(alice, 5), row(alice, 6, status_code=500)])
    requests_store([row(alice, 1), row(alice, 5), row(alice, 6, status_code=500)])  # an older one; two resends
    requests_store([row(alice, 9, error_message="cut"), row(alice, 3)])
    assert stored(alice, "s-1") == from_raw_rows(alice, "s-1")
    session = Session.objects.get(user=alice, session_id="s-1")
    assert (session.requests, session.errors, session.first_request_at) == (5, 2, T0 + timedelta(minutes=1))


def test_a_session_id_sent_by_two_users_is_two_sessions(alice, bob):
    requests_store([row(alice, 1), row(bob, 2), row(bob, 3)])
    assert {(s.user_id, s.requests) for s in Session.objects.filter(session_id="s-1")} == {(alice.pk, 1), (bob.pk, 2)}


def test_providers_models_key_and_api_type_follow_the_requests(alice, make_key):
    from providers.models import Provider

    first, second = Provider.objects.create(name="p1", type="claude"), Provider.objects.create(name="p2", type="openai")
    key = make_key(alice, "laptop").key
    requests_store(
        [
            row(alice, 1, provider_id=first.pk, endpoint="/v1/messages"),
            row(alice, 2, provider_id=second.pk, model="gpt-5", endpoint="/v1/responses", key_id=key.pk),
        ]
    )
    requests_store([row(alice, 0, provider_id=first.pk, endpoint="/v1/embeddings")])  # late, older: changes no "latest"
    session = Session.objects.get(user=alice, session_id="s-1")
    assert sorted(session.provider_ids) == sorted([first.pk, second.pk])
    assert session.model_names == ["claude-sonnet-4-5", "gpt-5"]
    assert (session.key_id, session.api_type) == (key.pk, "codex")


def test_requests_without_a_session_make_none(alice):
    requests_store([row(alice, 1, session="")])
    assert not Session.objects.exists()


def test_a_purge_rebuilds_the_sessions_it_cut_and_removes_the_ones_it_emptied(alice):
    settings_row = SystemSettings.get()
    settings_row.log_retention_days = 90
    settings_row.save()
    requests_store([
        row(alice, 1, session="gone", at=datetime(2026, 1, 30, tzinfo=UTC)),
        row(alice, 2, session="cut", at=datetime(2026, 1, 31, 23, tzinfo=UTC)),
        row(alice, 3, session="cut", at=datetime(2026, 2, 14, 1, tzinfo=UTC)),  # the cutoff is Feb 14 00:00
        row(alice, 4, session="kept", at=datetime(2026, 5, 1, tzinfo=UTC)),
    ])  # fmt: skip
    assert retention_apply(now=datetime(2026, 5, 15, tzinfo=UTC)).dropped == ["message_request_p2026_01"]
    assert not Session.objects.filter(session_id="gone").exists()
    assert stored(alice, "cut") == from_raw_rows(alice, "cut") and stored(alice, "cut")["requests"] == 1
    assert stored(alice, "kept")["requests"] == 1


def test_the_active_boundary_is_exactly_five_minutes(client, alice):
    now = timezone.now()
    requests_store([row(alice, 1, session="edge", at=now - ACTIVE_SESSION_WINDOW + timedelta(seconds=2)),
                    row(alice, 2, session="old", at=now - ACTIVE_SESSION_WINDOW - timedelta(seconds=2))])  # fmt: skip
    client.force_login(alice)
    active = client.get("/api/v1/sessions?active=true").json()
    inactive = client.get("/api/v1/sessions?active=false").json()
    assert [s["session_id"] for s in active["results"]] == ["edge"] and active["active_count"] == 1
    assert [s["session_id"] for s in inactive["results"]] == ["old"]
    assert [s["active"] for s in client.get("/api/v1/sessions").json()["results"]] == [True, False]


def test_users_see_only_their_own_sessions_on_page_api_and_dashboard(client, alice, bob, admin_user):
    now = timezone.now()
    requests_store([row(alice, 1, session="alices", at=now), row(bob, 2, session="bobs", at=now)])
    bobs = Session.objects.get(session_id="bobs")
    client.force_login(alice)
    assert [s["session_id"] for s in client.get("/api/v1/sessions").json()["results"]] == ["alices"]
    page = client.get("/sessions/").content.decode()
    assert "alices" in page and "bobs" not in page
    assert (
        "bobs" not in client.get("/").content.decode()
        and "bobs" not in client.get("/sessions/active-panel/").content.decode()
    )
    assert client.get(f"/sessions/{bobs.pk}/").status_code == 404
    assert client.get(f"/api/v1/sessions/{bobs.pk}").status_code == 404
    assert client.get(f"/api/v1/sessions?user={bob.username}").status_code == 400
    client.force_login(admin_user)
    assert {s["session_id"] for s in client.get("/api/v1/sessions").json()["results"]} == {"alices", "bobs"}


def test_a_refresh_reads_no_request_rows_and_fifty_viewers_cost_one_query(client, admin_user, alice):
    requests_store([row(alice, n, session=f"s{n}", at=timezone.now()) for n in range(5)])
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as first:
        response = client.get("/sessions/", HTTP_X_REFRESH="1")
    assert response.status_code == 200 and b"<html" not in response.content
    tables = " ".join(query["sql"] for query in first.captured_queries)
    assert "message_request" not in tables and "sessions_app_session" in tables
    with CaptureQueriesContext(connection) as later:
        for _ in range(50):
            client.get("/sessions/", HTTP_X_REFRESH="1")
    assert not any("sessions_app_session" in query["sql"] for query in later.captured_queries)


def test_the_detail_lists_requests_providers_and_the_stored_conversation(client, alice):
    settings_row = SystemSettings.get()
    settings_row.store_session_messages = True
    settings_row.save()
    now = timezone.now()
    requests_store([
        row(alice, 1, at=now - timedelta(minutes=2), attributes={
            "question": "What is 2+2?", "answer": "4", "tool_calls": [{"name": "calc", "arguments": {"x": 2}}]}),
        row(alice, 2, at=now - timedelta(minutes=1), status_code=429),
    ])  # fmt: skip
    session = Session.objects.get(session_id="s-1")
    client.force_login(alice)
    page = html.unescape(client.get(f"/sessions/{session.pk}/").content.decode())
    assert "What is 2+2?" in page and '"name": "calc"' in page and "removed after 7 days" in page
    body = client.get(f"/api/v1/sessions/{session.pk}").json()
    assert [r["status_code"] for r in body["requests"]] == [200, 429]
    assert body["conversation"][0]["answer"] == "4" and body["messages_stored"] is True
    assert body["session"]["errors"] == 1 and body["providers"][0]["requests"] == 2


def test_conversations_are_gone_after_their_lifetime(client, alice):
    settings_row = SystemSettings.get()
    settings_row.store_session_messages = True
    settings_row.session_messages_days = 2
    settings_row.save()
    now = timezone.now()
    requests_store([row(alice, 1, at=now - timedelta(days=1), attributes={"question": "keep me", "route": "r"})])
    assert conversations_expire(now=now) == 0
    assert conversations_expire(now=now + timedelta(days=1, hours=1)) == 1
    stored_row = MessageRequest.objects.get()
    assert stored_row.attributes == {"route": "r"}  # other attributes stay
    client.force_login(alice)
    page = client.get(f"/sessions/{Session.objects.get().pk}/").content.decode()
    assert "keep me" not in page and "kept 2 days" in page


def test_sessions_export_csv_has_a_totals_line(client, alice):
    requests_store([row(alice, 1), row(alice, 2, session="s-2")])
    client.force_login(alice)
    text = b"".join(client.get("/sessions/export.csv").streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("session_id,user,key") and len(lines) == 4
    assert lines[-1].startswith("TOTAL,2 sessions")
