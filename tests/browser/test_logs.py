from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_user_filters_the_logs_opens_a_detail_comes_back_and_exports(live_server, log_in, alice, make_request_row):
    now = timezone.now()
    make_request_row(user=alice, created_at=now - timedelta(minutes=5), model="claude-sonnet-4-5")
    make_request_row(user=alice, created_at=now - timedelta(minutes=3), model="gpt-5", status_code=429,
                     error_message="rate limited: slow down")  # fmt: skip
    page = log_in(alice)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Logs").click()
    expect(page.get_by_role("heading", name="Request logs")).to_be_visible()
    expect(page.locator("table.logs tbody tr")).to_have_count(2)

    page.get_by_label("Status").fill("4xx")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.logs tbody tr")).to_have_count(1)
    assert "status=4xx" in page.url
    expect(page.locator("table.logs .status.s4")).to_have_text("429")

    page.locator("table.logs tbody tr a").first.click()
    expect(page.get_by_text("rate limited: slow down")).to_be_visible()
    expect(page.get_by_role("heading", name="Tokens and cost")).to_be_visible()
    page.get_by_role("link", name="Back to the logs").click()
    assert "status=4xx" in page.url
    expect(page.locator("table.logs tbody tr")).to_have_count(1)

    with page.expect_download() as download:
        page.get_by_test_id("export").click()
    content = Path(download.value.path()).read_text(encoding="utf-8")
    assert content.startswith("\ufeff") and "rate limited: slow down" in content and "TOTAL" in content
    assert len(content.strip().splitlines()) == 3  # header, the one filtered row, totals


def test_enter_in_a_filter_box_applies_it_and_a_quick_range_keeps_it(live_server, log_in, alice, make_request_row):
    now = timezone.now()
    make_request_row(user=alice, created_at=now - timedelta(minutes=2), model="gpt-5", endpoint="/v1/responses")
    make_request_row(user=alice, created_at=now - timedelta(minutes=4), model="claude-sonnet-4-5")
    make_request_row(user=alice, created_at=now - timedelta(days=20), model="gpt-5", endpoint="/v1/responses")
    page = log_in(alice)
    page.goto(f"{live_server.url}/logs/")
    expect(page.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "true")
    page.get_by_label("Model", exact=True).fill("gpt-5")
    page.get_by_label("Model", exact=True).press("Enter")
    expect(page.locator("table.logs tbody tr")).to_have_count(1)
    assert "model=gpt-5" in page.url and "range=" not in page.url
    expect(page.get_by_test_id("summary")).to_contain_text("1 request")

    page.get_by_role("link", name="Last 30 days").click()
    expect(page.locator("table.logs tbody tr")).to_have_count(2)
    assert "model=gpt-5" in page.url and "range=last_30_days" in page.url
    page.get_by_label("Endpoint").fill("/v1/responses")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.logs tbody tr")).to_have_count(2)  # the quick range survives Apply
    assert "range=last_30_days" in page.url
