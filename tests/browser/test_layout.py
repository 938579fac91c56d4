import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_user_logs_in_and_sees_the_layout_without_admin_link(live_server, log_in, alice):
    page = log_in(alice)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Overview")).to_be_visible()
    expect(nav.get_by_role("link", name="API keys")).to_be_visible()
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_admin_sees_the_admin_link_and_can_open_it(live_server, log_in, admin_user):
    page = log_in(admin_user)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()


def test_language_switch_shows_the_pages_in_simplified_chinese_and_back(live_server, log_in, alice):
    page = log_in(alice)
    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("button", name="Switch").click()  # no switch on a mere arrow key (WCAG 3.2.2)
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="概览")).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="API 密钥")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="切换").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_user_creates_a_key_and_sees_its_secret_only_once(live_server, log_in, alice):
    page = log_in(alice)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-key").locator("code").inner_text()
    assert secret.startswith("uhk_")
    page.goto(f"{live_server.url}/keys/")  # the page again: the secret must not come back
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert secret not in page.content()
    expect(page.get_by_role("cell", name="laptop")).to_be_visible()
