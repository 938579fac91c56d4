"""The dashboard, the leaderboard and the token statistics in a real browser, with screenshots
left in test-artifacts/ (dashboard.png, leaderboard.png, leaderboard-user.png, tokens.png,
dashboard-zh.png) to look at."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.clock import minutes_ago
from usage import rollups

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = "test-artifacts"


@pytest.fixture
def traffic(admin_user, alice, make_request_row):
    now = timezone.now()
    traffic = (
        ("s-2", None, alice, "claude-sonnet-4-5", "claude-sonnet-4-5", Decimal("0.25"), 1000),
        ("s-70", 70, admin_user, "gpt-5", "gpt-5", Decimal("0.40"), 3000),
        ("s-180", 3 * 60, alice, "claude-sonnet-4-5", "claude-sonnet-4", Decimal("0.10"), 800),
        ("s-1560", 26 * 60, alice, "gpt-5", "gpt-5", Decimal("0.25"), 1000),
        ("s-7200", 5 * 24 * 60, admin_user, "qwen-plus", "qwen-plus", None, 0),
    )
    for session, minutes, user, ran, asked, cost, tokens in traffic:
        created_at = minutes_ago(2, now=now) if minutes is None else now - timedelta(minutes=minutes)
        make_request_row(
            user=user, created_at=created_at, model=ran, original_model=asked,
            session_id=session, cost=cost, input_tokens=tokens, output_tokens=tokens // 5,
        )  # fmt: skip
    rollups.mark_range(now - timedelta(days=6), now)
    rollups.rollup_dirty()


def test_admin_dashboard_draws_charts_and_switches_measure_and_breakdown(live_server, log_in, admin_user, traffic):
    page = log_in(admin_user)
    expect(page.get_by_test_id("requests-today")).not_to_have_text("0")
    expect(page.locator("[data-testid=chart-hourly] canvas")).to_have_count(1)  # uPlot drew the chart
    expect(page.locator("[data-testid=chart-daily] canvas")).to_have_count(1)
    expect(page.get_by_role("link", name="s-2")).to_be_visible()  # the active session, linked to its logs

    hourly = page.locator("figure[data-panel=chart-hourly]")
    hourly.get_by_text("Show the numbers").click()
    expect(hourly.locator("[data-variant=requests-model]")).to_be_visible()
    hourly.get_by_label("Cost (USD)").check()
    hourly.get_by_label("By provider").check()
    expect(hourly.locator("[data-variant=requests-model]")).to_be_hidden()
    expect(hourly.locator("[data-variant=cost-provider]")).to_be_visible()
    expect(hourly.locator("[data-variant=cost-provider] tfoot")).to_contain_text("$0.7500")
    page.screenshot(path=f"{ARTIFACTS}/dashboard.png", full_page=True)


def test_admin_reads_the_leaderboard_and_a_users_drill_down(live_server, log_in, admin_user, alice, traffic):
    page = log_in(admin_user)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leaderboard").click()
    page.get_by_role("link", name="All time").click()
    board = page.get_by_test_id("leaderboard")
    expect(board.locator("tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Models").click()
    expect(page.get_by_role("rowheader", name="claude-sonnet-4-5", exact=True)).to_be_visible()
    expect(page.get_by_text("ran as claude-sonnet-4-5 (1)")).to_be_visible()  # the redirect, beside the model asked for
    page.get_by_role("link", name="Providers").click()
    page.get_by_role("link", name="Users").click()
    page.screenshot(path=f"{ARTIFACTS}/leaderboard.png", full_page=True)

    board.get_by_role("link", name="Alice").click()
    expect(page.get_by_role("heading", name="Alice (alice)")).to_be_visible()
    expect(page.get_by_test_id("user-requests")).to_have_text("3")
    expect(page.locator("[data-testid=chart-user] canvas")).to_have_count(1)
    page.screenshot(path=f"{ARTIFACTS}/leaderboard-user.png", full_page=True)


def test_tokens_page_stacks_the_token_kinds(live_server, log_in, admin_user, traffic):
    page = log_in(admin_user)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tokens").click()
    expect(page.get_by_role("heading", name="Token statistics")).to_be_visible()
    expect(page.locator("[data-testid=chart-tokens] canvas")).to_have_count(1)
    page.get_by_role("link", name="All time").click()
    expect(page.get_by_test_id("total-tokens")).to_have_text("6,960")
    page.get_by_role("link", name="Today").click()
    page.get_by_label("Buckets").select_option("hour")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="Tokens per hour, by kind")).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/tokens.png", full_page=True)


def test_user_has_no_leaderboard_link_and_sees_the_dashboard_in_chinese(live_server, log_in, alice, traffic):
    page = log_in(alice)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Leaderboard")).to_have_count(0)
    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("button", name="Switch").click()  # no switch on a mere arrow key (WCAG 3.2.2)
    page.wait_for_load_state()
    expect(page.get_by_text("今日请求数")).to_be_visible()
    expect(page.locator("[data-testid=chart-daily] canvas")).to_have_count(1)
    page.screenshot(path=f"{ARTIFACTS}/dashboard-zh.png", full_page=True)


def test_chart_legends_show_totals_read_iso_dates_and_work_from_the_keyboard(live_server, log_in, admin_user, traffic):
    page = log_in(admin_user)
    legend = page.locator("figure[data-panel=chart-daily] .u-legend")
    # Before any hover: each series with its total for the window, never a bare "name:".
    expect(legend.locator(".u-series").first).to_contain_text("Totals for the period")
    entry = legend.locator(".u-series", has_text="gpt-5")
    expect(entry.locator(".u-value")).to_have_text("2")
    # Hovering a bar: the day as the pages write it (ISO), not 11/29/2026.
    over = page.locator("figure[data-panel=chart-daily] .u-over")
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    over.hover(position={"x": box["width"] - 8, "y": box["height"] / 2})
    expect(legend.locator(".u-series").first).to_contain_text(timezone.localdate().strftime("%Y-%m-%d"))
    page.mouse.move(0, 0)
    # The legend from the keyboard: Tab to an entry, Enter hides its series, again shows it.
    expect(entry).to_have_attribute("aria-pressed", "true")
    entry.focus()
    page.keyboard.press("Enter")
    expect(entry).to_have_attribute("aria-pressed", "false")
    page.keyboard.press(" ")
    expect(entry).to_have_attribute("aria-pressed", "true")
