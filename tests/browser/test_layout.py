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
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()  # choosing alone changes nothing (3.2.2)
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("heading", name="概览")).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="API 密钥")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="切换").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_arrow_keys_in_the_language_select_do_not_switch_the_page(live_server, log_in, alice):
    page = log_in(alice)
    page.get_by_label("Language").focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert page.url == f"{live_server.url}/"
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_user_creates_a_key_and_sees_its_secret_only_once(live_server, log_in, alice):
    page = log_in(alice)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-key").locator("code").inner_text()
    assert secret.startswith("uhk_")
    assert page.url == f"{live_server.url}/keys/"  # redirected after the POST
    page.reload()  # a reload repeats the GET, not the POST: no second key, no secret
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert secret not in page.content()
    expect(page.get_by_role("cell", name="laptop", exact=True)).to_have_count(1)


def test_the_copy_button_puts_the_new_secret_on_the_clipboard(live_server, log_in, alice):
    page = log_in(alice)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}/keys/")
    page.get_by_label("Name").fill("ci")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-key").locator("code").inner_text()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret


def test_the_skip_link_is_the_first_stop_and_jumps_past_the_navigation(live_server, log_in, alice):
    page = log_in(alice)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    skip.press("Enter")
    expect(page.locator("main#content")).to_be_focused()


def test_on_a_phone_the_menu_folds_behind_a_button(live_server, log_in, alice):
    page = log_in(alice)
    page.set_viewport_size({"width": 390, "height": 844})
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="Logs").click()
    expect(page.get_by_role("heading", name="Request logs")).to_be_visible()
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(nav).to_be_visible()


def test_a_user_finds_their_own_figures_in_the_menu(live_server, log_in, alice):
    page = log_in(alice)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My usage").click()
    expect(page.get_by_role("heading", name="Alice (alice)")).to_be_visible()
    link = page.get_by_role("navigation", name="Main").get_by_role("link", name="My usage")
    expect(link).to_have_attribute("aria-current", "page")


def test_a_refused_page_uses_the_layout_says_why_and_offers_a_way_back(live_server, log_in, alice):
    page = log_in(alice)
    page.goto(f"{live_server.url}/logs/")
    page.goto(f"{live_server.url}/leaderboard/")
    expect(page.get_by_role("heading", name="You may not open this page")).to_be_visible()
    expect(page.get_by_test_id("error-reason")).to_have_text(
        "The leaderboard is for admins unless System settings open it to everyone."
    )
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.get_by_role("link", name="Go to the overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_filter_links_carry_only_the_fields_that_were_filled(live_server, log_in, alice):
    page = log_in(alice)
    page.goto(f"{live_server.url}/logs/")
    page.get_by_label("Status").fill("4xx")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/logs/?*")
    query = page.url.split("?", 1)[1]
    assert all(not part.endswith("=") for part in query.split("&")), query
    assert "status=4xx" in query
