"""The provider availability page in a real browser: lights, figures, the chart and its table,
a window switch; screenshots in test-artifacts/ (availability.png, availability-zh.png)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from providers.models import Provider
from usage.bulk import RequestRow
from usage.rollups import minutes
from usage.services import requests_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = "test-artifacts"


@pytest.fixture
def traffic(admin_user):
    now = timezone.now()
    healthy = Provider.objects.create(name="anthropic-main", type="claude")
    failing = Provider.objects.create(name="openai-main", type="openai")
    Provider.objects.create(name="quiet-vllm", type="other")
    rows = []
    for minute in range(2, 58):
        for i in range(4):
            rows.append(RequestRow(
                request_id=f"h-{minute}-{i}", created_at=now - timedelta(minutes=minute, seconds=i),
                user_id=admin_user.pk,
                provider_id=healthy.pk, model="claude-sonnet-4-5", status_code=200 if (minute + i) % 17 else 529,
                duration_ms=900 + 40 * i + 10 * minute, ttft_ms=300 + 5 * i,
            ))  # fmt: skip
        rows.append(RequestRow(
            request_id=f"f-{minute}", created_at=now - timedelta(minutes=minute), user_id=admin_user.pk,
            provider_id=failing.pk, model="gpt-5", status_code=503 if minute < 30 else 200, duration_ms=2_000 + minute,
            error_message="",
        ))  # fmt: skip
    requests_store(rows)
    minutes.rollup_dirty_minutes()


def test_admin_compares_providers_and_switches_the_window(live_server, log_in, admin_user, traffic):
    page = log_in(admin_user)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Availability").click()
    expect(page.get_by_role("heading", name="Provider availability")).to_be_visible()
    expect(page.get_by_test_id("provider-anthropic-main").get_by_test_id("light")).to_have_class("light up")
    expect(page.get_by_test_id("provider-openai-main").get_by_test_id("light")).to_have_class("light down")
    expect(page.get_by_test_id("provider-quiet-vllm").get_by_test_id("light")).to_have_class("light unknown")
    expect(page.get_by_test_id("provider-anthropic-main").get_by_test_id("requests")).to_have_text("224")
    expect(page.get_by_test_id("provider-openai-main").get_by_test_id("errors")).to_contain_text("503")
    expect(page.locator("[data-testid=chart-availability] canvas")).to_have_count(1)  # uPlot drew the lines
    chart = page.locator("figure[data-panel=chart-availability]")
    chart.get_by_text("Show the numbers").click()
    chart.get_by_label("Response time p95").check()
    expect(chart.locator("[data-variant=latency-provider]")).to_contain_text(" ms")
    page.screenshot(path=f"{ARTIFACTS}/availability.png", full_page=True)

    page.get_by_role("link", name="24h").click()
    expect(page.get_by_test_id("window-range")).to_contain_text("15 minutes")
    expect(page.locator("[data-testid=chart-availability] canvas")).to_have_count(1)


def test_the_page_in_chinese(live_server, log_in, admin_user, traffic):
    page = log_in(admin_user)
    page.goto(f"{live_server.url}/availability/")
    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("button", name="Switch").click()  # no switch on a mere arrow key (WCAG 3.2.2)
    expect(page.get_by_role("heading", name="供应商可用性")).to_be_visible()
    expect(page.get_by_test_id("provider-anthropic-main")).to_contain_text("正常")
    page.screenshot(path=f"{ARTIFACTS}/availability-zh.png", full_page=True)
