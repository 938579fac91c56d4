"""The live sessions page in a real browser: it refreshes itself every 3 s, stops while the tab
is hidden, and a session's page reads turn by turn. Screenshots: sessions.png, sessions-zh.png,
session-detail.png in test-artifacts/."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hub.models import SystemSettings
from sessions_app.models import Session
from usage.bulk import RequestRow
from usage.services import requests_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = "test-artifacts"


def store(user, number: int, *, session: str, minutes_ago: float, **fields) -> None:
    values = {"model": "claude-sonnet-4-5", "endpoint": "/v1/messages", "status_code": 200, "input_tokens": 1200,
              "output_tokens": 300, "cost": Decimal("0.0123"), "session_id": session, "duration_ms": 2100}  # fmt: skip
    values.update(fields)
    requests_store([RequestRow(request_id=f"{session}-{number}", user_id=user.pk,
                               created_at=timezone.now() - timedelta(minutes=minutes_ago), **values)])  # fmt: skip


def hide(page) -> None:
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )


def test_a_new_session_appears_without_a_reload_and_nothing_is_fetched_while_hidden(
    live_server, log_in, admin_user, alice
):
    store(alice, 1, session="agent-old", minutes_ago=30)
    page = log_in(admin_user)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions").click()
    expect(page.locator("tr[data-session=agent-old]")).to_be_visible()
    expect(page.locator("tr.active")).to_have_count(0)
    marker = page.evaluate("window.__loaded = 'same page'")
    store(alice, 2, session="agent-live", minutes_ago=0)
    live = page.locator("tr[data-session=agent-live]")
    expect(live).to_be_visible(timeout=8_000)  # the 3 s refresh, no reload
    expect(live).to_have_class("active")
    assert page.evaluate("window.__loaded") == "same page", marker
    expect(page.locator("[data-refresh-state]")).to_contain_text("Updated")
    page.screenshot(path=f"{ARTIFACTS}/sessions.png", full_page=True)

    fetched = []
    page.on("request", lambda request: fetched.append(request.url) if "/sessions/" in request.url else None)
    hide(page)
    expect(page.locator("[data-refresh-state]")).to_have_text("Paused while this tab is hidden")
    store(alice, 3, session="agent-hidden", minutes_ago=0)
    page.wait_for_timeout(4_500)
    assert fetched == []
    expect(page.locator("tr[data-session=agent-hidden]")).to_have_count(0)


def test_a_session_reads_turn_by_turn_in_both_languages(live_server, log_in, admin_user, alice):
    settings_row = SystemSettings.get()
    settings_row.store_session_messages = True
    settings_row.save()
    store(
        alice, 1, session="chat-1", minutes_ago=3, attributes={"question": "Summarise the report", "answer": "It says…"}
    )
    store(alice, 2, session="chat-1", minutes_ago=2, status_code=429, error_message="rate limited")
    page = log_in(admin_user)
    page.goto(f"{live_server.url}/sessions/{Session.objects.get().pk}/")
    expect(page.get_by_text("Summarise the report")).to_be_visible()
    expect(page.get_by_role("button", name="Disable key")).to_have_count(0)  # no key on these rows
    page.screenshot(path=f"{ARTIFACTS}/session-detail.png", full_page=True)
    page.goto(f"{live_server.url}/sessions/")
    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("button", name="Switch").click()  # no switch on a mere arrow key (WCAG 3.2.2)
    expect(page.get_by_role("heading", name="会话", exact=True)).to_be_visible()
    # An active session is 活跃 (in use), not 有效 (valid, as an API key is).
    expect(page.locator("tr[data-session=chat-1] .badge")).to_have_text("活跃")
    page.screenshot(path=f"{ARTIFACTS}/sessions-zh.png", full_page=True)
