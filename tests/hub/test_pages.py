"""What every page owes its reader, whichever page it is: error pages in the layout with the
reason in the reader's language, numbers grouped in both languages, times without
microseconds, a way to one's own figures, and an API docs page that belongs to the hub."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from providers.models import Provider

pytestmark = pytest.mark.django_db


def _in(language: str) -> dict:
    return {"HTTP_ACCEPT_LANGUAGE": language}


@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("en", "The leaderboard is for admins unless System settings open it to everyone."),
        ("zh-hans", "排行榜"),
    ],
)
def test_a_refusal_is_a_page_of_the_hub_that_says_why_in_the_readers_language(client, alice, language, reason):
    client.force_login(alice)
    response = client.get("/leaderboard/", **_in(language))
    page = response.content.decode()
    assert response.status_code == 403
    assert reason in page
    assert '<nav class="nav"' in page  # the layout's menu
    assert 'href="/"' in page  # a way back


def test_another_users_figures_are_refused_with_the_same_reason_as_the_leaderboard(client, alice, bob):
    client.force_login(alice)
    board = client.get("/leaderboard/").content.decode()
    figures = client.get(f"/leaderboard/users/{bob.pk}/").content.decode()
    reason = "The leaderboard is for admins unless System settings open it to everyone."
    assert reason in board and reason in figures


def test_a_missing_page_uses_the_layout_and_leaks_nothing(client, alice):
    client.force_login(alice)
    response = client.get("/logs/999999999/", HTTP_REFERER="http://testserver/logs/?status=4xx")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in page and "No MessageRequest matches" not in page
    assert 'href="http://testserver/logs/?status=4xx"' in page  # back where the reader came from
    chinese = client.get("/no/such/page/", **_in("zh-hans")).content.decode()
    assert "页面不存在" in chinese and 'lang="zh-hans"' in chinese


def test_a_way_back_never_leads_off_the_hub(client, alice):
    client.force_login(alice)
    page = client.get("/no/such/page/", HTTP_REFERER="https://evil.example/").content.decode()
    assert "evil.example" not in page


def test_a_signed_out_reader_of_a_missing_page_is_offered_to_log_in(client, db):
    page = client.get("/no/such/page/").content.decode()
    assert 'href="/login/?next=/no/such/page/"' in page


def test_the_api_answers_a_missing_address_in_json(client, db):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["detail"]


@pytest.fixture
def big_request(alice, make_request_row):
    provider = Provider.objects.create(name="free-vllm", type="other", cost_multiplier=Decimal("0"))
    return make_request_row(
        user=alice, provider_id=provider.pk, input_tokens=6_577_955, duration_ms=15_822, cost=Decimal("1234.5"),
        created_at=timezone.now().replace(microsecond=0) - timedelta(minutes=3), cost_multiplier=Decimal("0"),
    )  # fmt: skip


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_numbers_are_grouped_in_thousands_in_both_languages(client, alice, big_request, language):
    client.force_login(alice)
    logs = client.get("/logs/", **_in(language)).content.decode()
    assert "6,577,955" in logs and "15,822 ms" in logs and "$1,234.5000" in logs
    detail = client.get(f"/logs/{big_request.pk}/", **_in(language)).content.decode()
    assert "6,577,955" in detail and "15,822 ms" in detail


def test_request_times_show_seconds_not_microseconds(client, alice, big_request):
    client.force_login(alice)
    detail = client.get(f"/logs/{big_request.pk}/").content.decode()
    shown = timezone.localtime(big_request.created_at, timezone.get_default_timezone()).strftime("%Y-%m-%d %H:%M:%S")
    assert shown in detail and ".000000" not in detail


def test_the_multiplier_never_reads_as_a_zero_price(client, alice, make_request_row, big_request):
    unpriced = make_request_row(user=alice, cost=None, price_missing=True, cost_multiplier=Decimal("0"))
    client.force_login(alice)
    free = client.get(f"/logs/{big_request.pk}/").content.decode()
    assert "free on this provider" in free
    no_price = client.get(f"/logs/{unpriced.pk}/").content.decode()
    assert "not applied: no price" in no_price and "× 0" not in no_price


def test_all_time_is_described_as_every_request_up_to_now(client, alice):
    client.force_login(alice)
    page = client.get("/tokens/?period=all").content.decode()
    assert "Every request stored, up to now." in page
    assert "until" not in page.split('data-testid="window"')[1].split("</span>")[0]


def test_the_statement_button_looks_like_a_button(client, alice):
    client.force_login(alice)
    assert '<button type="submit" class="primary">Download CSV</button>' in client.get("/logs/").content.decode()


def test_a_user_has_a_menu_link_to_their_own_figures_and_an_admin_the_leaderboard(client, alice, admin_user):
    client.force_login(alice)
    assert f'href="/leaderboard/users/{alice.pk}/"' in client.get("/").content.decode()
    client.force_login(admin_user)
    page = client.get("/").content.decode()
    assert "/leaderboard/users/" not in page and 'href="/leaderboard/"' in page


def test_the_api_docs_page_has_a_language_and_a_way_back(client, alice):
    client.force_login(alice)
    page = client.get("/api/docs/", **_in("zh-hans")).content.decode()
    assert '<html lang="zh-hans">' in page
    assert 'href="/"' in page and "返回 LLM 用量中心" in page


def test_the_language_choice_waits_for_its_button(client, alice):
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "onchange" not in page
    assert '<button type="submit" class="switch">Switch</button>' in page
