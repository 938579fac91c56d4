"""Every page as a user meets it: admin and user, English and Simplified Chinese, a phone
(390 px) and a desktop (1440 px). Each page state is checked by axe-core in the browser (no
serious or critical violation of the hub's own markup), must not scroll sideways on a phone,
and leaves a screenshot in test-artifacts/pages/<role>-<lang>-<width>-<page>.png to look at.

axe-core is vendored in tests/browser/vendor/axe-core (MPL-2.0, version in VERSION) and
injected with Playwright's init script: no CDN, no network, no hole in the CSP.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from providers.models import Provider
from usage import rollups

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SHOTS = Path("test-artifacts") / "pages"
WIDTHS = {"phone": (390, 844), "desktop": (1440, 900)}
# Markup the hub does not write: the Swagger UI bundle inside the API docs page.
NOT_OURS = ["#swagger-ui"]


@pytest.fixture
def world(admin_user, alice, bob, make_key, make_request_row):
    """Figures large enough to need thousands separators, errors of each class, a redirect,
    a model without a price, and a live session."""
    now = timezone.now()
    claude = Provider.objects.create(name="anthropic-main", type="claude")
    openai = Provider.objects.create(name="openai-main", type="openai")
    alice_key = make_key(alice, "alice-laptop").key
    admin_key = make_key(admin_user, "gateway").key
    rows = [
        (alice, alice_key, claude, "claude-sonnet-4-5", "claude-sonnet-4-5", 200, Decimal("12.34"), 6_577_955, 15_822),
        (alice, alice_key, openai, "gpt-5", "gpt-4o", 429, None, 0, 321),
        (bob, None, claude, "claude-opus-4-5", "claude-opus-4-5", 502, Decimal("0.0421"), 120_000, 60_123),
        (admin_user, admin_key, openai, "gpt-5", "gpt-5", 200, Decimal("1234.5"), 2_400_000, 8_000),
        (alice, alice_key, openai, "qwen-plus", "qwen-plus", 200, None, 5_000, 900),
    ]
    for index, (user, key, provider, ran, asked, status, cost, tokens, duration) in enumerate(rows):
        for day in (0, 3, 12):
            make_request_row(
                user=user, key_id=key.pk if key else None, provider_id=provider.pk, model=ran, original_model=asked,
                status_code=status, cost=cost, price_missing=cost is None, input_tokens=tokens,
                output_tokens=tokens // 4, cache_read_tokens=tokens * 2, cache_creation_tokens=tokens // 10,
                duration_ms=duration, session_id=f"session-{index}",
                error_message="upstream reset by peer" if status >= 500 else "rate limited" if status == 429 else "",
                created_at=now - timedelta(days=day, minutes=2 + index),
            )  # fmt: skip
    rollups.mark_range(now - timedelta(days=14), now)
    rollups.rollup_dirty()
    return {"alice_key": alice_key}


def _axe(page) -> list[dict]:
    result = page.evaluate(
        """async (exclude) => {
            const context = { include: [document], exclude: exclude.filter((s) => document.querySelector(s)) };
            const found = await axe.run(context, { resultTypes: ["violations"] });
            return found.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " :: " + n.failureSummary) }));
        }""",
        NOT_OURS,
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def _sideways(page) -> str:
    """What makes the page scroll sideways ("" when nothing is wider than the window)."""
    return page.evaluate(
        """() => {
            const over = document.documentElement.scrollWidth - window.innerWidth;
            if (over <= 0) return "";
            const wide = [...document.querySelectorAll("body *")].filter((e) => {
                const box = e.getBoundingClientRect();
                return box.right > window.innerWidth + 1 && !e.closest(".table-scroll, .scroll")
                    && ![...e.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 1);
            });
            const name = (e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : "");
            const where = wide.slice(0, 4).map((e) => `${name(e)} in ${name(e.parentElement)}`);
            return `${over}px, from ${where.join(", ")}`;
        }"""
    )


def _tour(page, base: str, names: list[tuple[str, str]], label: str) -> list[str]:
    problems = []
    SHOTS.mkdir(parents=True, exist_ok=True)
    # Injected into every document before its own scripts, by the browser, not as a <script>:
    # the hub's Content-Security-Policy (script-src 'self') rightly refuses inline scripts.
    page.add_init_script(path=str(AXE))
    for width_name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        for name, path in names:
            # "load", not "networkidle": no page fetches anything as it opens (refreshes come
            # seconds later), and waiting for half a second of quiet on each of ~140 states
            # cost more than a minute of the suite.
            page.goto(base + path)
            if name in ACTIONS:
                ACTIONS[name](page)
                page.wait_for_load_state("load")
            page.screenshot(path=str(SHOTS / f"{label}-{width}-{name}.png"), full_page=True)
            for violation in _axe(page):
                problems.append(f"{label} {width_name} {name}: {violation}")
            if over := _sideways(page):
                problems.append(f"{label} {width_name} {name}: scrolls sideways by {over}")
    return problems


def _create_key(page) -> None:
    page.locator("#id_name").fill("phone")
    page.locator("form.stack button[type=submit]").click()


def _refused_key_form(page) -> None:
    page.locator("#id_name").fill("no scopes")
    for box in page.locator("form.stack input[type=checkbox]").all():
        box.uncheck()
    page.locator("form.stack button[type=submit]").click()


def _open_menu(page) -> None:
    toggle = page.locator(".menu-toggle")
    if toggle.is_visible():
        toggle.click()


# Page states reached by doing something on the page: the shown-once secret, a refused form,
# the phone menu opened.
ACTIONS = {"keys-new": _create_key, "keys-refused": _refused_key_form, "menu-open": _open_menu}


def _pages(page, base: str, *, admin: bool, alice_id: int) -> list[tuple[str, str]]:
    page.goto(f"{base}/logs/")
    detail = page.locator("table.logs tbody tr a").first.get_attribute("href")
    page.goto(f"{base}/sessions/")
    session = page.locator("main table a[href^='/sessions/']").first.get_attribute("href")
    pages = [
        ("home", "/"),
        ("logs", "/logs/"),
        ("logs-filtered", "/logs/?status=4xx&range=last_30_days"),
        ("detail", detail),
        ("tokens", "/tokens/?period=month"),
        ("sessions", "/sessions/"),
        ("session-detail", session),
        ("user-figures", f"/leaderboard/users/{alice_id}/"),
        ("leaderboard", "/leaderboard/?period=all"),
        ("keys", "/keys/"),
        ("keys-new", "/keys/"),
        ("keys-refused", "/keys/"),
        ("logs-refused-filter", "/logs/?user=nobody-at-all&status=abc"),
        ("menu-open", "/"),
        ("not-found", "/logs/999999999/"),
        ("api-docs", "/api/docs/"),
    ]
    if admin:
        pages.insert(7, ("leaderboard-models", "/leaderboard/?period=all&by=model"))
        pages.insert(8, ("leaderboard-providers", "/leaderboard/?period=all&by=provider"))
        pages.append(("availability", "/availability/"))
    return pages


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
@pytest.mark.parametrize("role", ["admin", "user"])
def test_every_page_reads_well_at_phone_and_desktop_width(live_server, log_in, admin_user, alice, world, role, lang):
    page = log_in(admin_user if role == "admin" else alice)
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
    names = _pages(page, live_server.url, admin=role == "admin", alice_id=alice.pk)
    problems = _tour(page, live_server.url, names, f"{role}-{lang}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_login_page_reads_well_signed_out(live_server, page, lang):
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
    problems = _tour(page, live_server.url, [("login", "/login/")], f"anonymous-{lang}")
    assert not problems, "\n".join(problems)
