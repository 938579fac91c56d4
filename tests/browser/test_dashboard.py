from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from usage import rollups

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def traffic(admin_user, alice, make_request_row):
    now = timezone.now()
    traffic = ((2, alice, "claude-sonnet-4-5"), (70, admin_user, "gpt-5"), (26 * 60, alice, "gpt-5"))
    for minutes, user, model in traffic:
        make_request_row(
            user=user, created_at=now - timedelta(minutes=minutes), model=model, original_model=model,
            session_id=f"s-{minutes}", cost=Decimal("0.25"), input_tokens=1000, output_tokens=200,
        )  # fmt: skip
    rollups.mark_range(now - timedelta(days=2), now)
    rollups.rollup_dirty()


def test_admin_sees_dashboard_charts_leaderboard_and_tokens(live_server, log_in, admin_user, traffic):
    page = log_in(admin_user)
    expect(page.get_by_test_id("requests-today")).not_to_have_text("0")
    expect(page.locator("[data-testid=chart-hourly] canvas")).to_have_count(1)  # uPlot drew the chart
    expect(page.get_by_role("link", name="s-2")).to_be_visible()  # the active session, linked to its logs

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leaderboard").click()
    expect(page.get_by_test_id("leaderboard").locator("tbody tr")).not_to_have_count(0)
    page.get_by_role("link", name="Models").click()
    expect(page.get_by_role("cell", name="claude-sonnet-4-5")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tokens").click()
    expect(page.get_by_role("heading", name="Token statistics")).to_be_visible()
    expect(page.locator("[data-testid=chart-tokens] canvas")).to_have_count(1)
    page.screenshot(path="test-artifacts/tokens.png", full_page=True)


def test_user_has_no_leaderboard_link_and_sees_the_dashboard_in_chinese(live_server, log_in, alice, traffic):
    page = log_in(alice)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Leaderboard")).to_have_count(0)
    page.get_by_label("Language").select_option("zh-hans")
    page.wait_for_load_state()
    expect(page.get_by_text("今日请求数")).to_be_visible()
