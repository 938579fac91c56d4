"""/logs/ and /api/v1/requests: visibility, choices, detail, keyset pages, counts."""

from datetime import timedelta

import pytest
from django.db.models.expressions import RawSQL

from tests.usage import logs_world
from tests.usage.logs_world import NOW, api_ids, ids, read_csv, shown
from usage import rollups
from usage.models import MessageRequest
from usage.selectors import bounded_count

pytestmark = pytest.mark.django_db
world = logs_world.world


# --- who sees what ------------------------------------------------------------------------------


def _urls(world) -> dict[str, str]:
    return {
        "page": "/logs/?range=last_30_days",
        "api": "/api/v1/requests?range=last_30_days",
        "export": "/logs/export.csv?range=last_30_days",
        "api export": "/api/v1/requests/export.csv?range=last_30_days",
    }


@pytest.mark.parametrize("url", ["/logs/", "/logs/export.csv", "/logs/statement.csv?month=2026-03", "/logs/{failed}/"])
def test_anonymous_visitors_are_sent_to_log_in(client, world, url):
    response = client.get(url.format(failed=world["rows"]["failed"].pk))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("url", ["/api/v1/requests", "/api/v1/requests/export.csv", "/api/v1/requests/{failed}"])
def test_the_api_refuses_anonymous_callers(client, world, url):
    assert client.get(url.format(failed=world["rows"]["failed"].pk)).status_code == 401


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("alice", {"ok", "limited", "warned", "old"}),
        ("bob", {"failed", "empty"}),
        ("admin_user", {"ok", "limited", "warned", "failed", "empty", "old"}),
    ],
)
def test_every_list_and_export_holds_exactly_the_viewers_rows(client, request, world, viewer, expected):
    client.force_login(request.getfixturevalue(viewer))
    urls = _urls(world)
    assert shown(client.get(urls["page"])) == ids(world, *expected)
    assert api_ids(client.get(urls["api"])) == ids(world, *expected)
    for name in ("export", "api export"):
        _body, rows = read_csv(client.get(urls[name]))
        assert {row[1] for row in rows[1:-1]} == ids(world, *expected), name


@pytest.mark.parametrize(("viewer", "own"), [("alice", "limited"), ("bob", "failed")])
def test_another_users_request_is_404_like_a_missing_one(client, request, world, viewer, own):
    client.force_login(request.getfixturevalue(viewer))
    other = "failed" if viewer == "alice" else "limited"
    for pk, status in ((world["rows"][own].pk, 200), (world["rows"][other].pk, 404), (987654321, 404)):
        assert client.get(f"/logs/{pk}/").status_code == status
        assert client.get(f"/api/v1/requests/{pk}").status_code == status


def test_an_admin_opens_anyones_request(client, admin_user, world):
    client.force_login(admin_user)
    for name in ("limited", "failed"):
        assert client.get(f"/logs/{world['rows'][name].pk}/").status_code == 200


def test_a_users_choices_hold_only_their_own_keys_user_models_and_endpoints(client, alice, world):
    client.force_login(alice)
    page = client.get("/logs/")
    assert list(page.context["form"].fields["key"].queryset) == [world["alice_key"]]
    assert [user.username for user in page.context["users"]] == ["alice"]
    suggestions = page.context["suggestions"]
    assert "gpt-5" in suggestions["models"] and "gpt-4o" in suggestions["models"]
    assert "bob-only-model" not in suggestions["models"] and "/v1/bob-only" not in suggestions["endpoints"]
    html = page.content.decode()
    assert "bob-ci" not in html and "bob-only-model" not in html and 'name="user" list=' not in html


def test_an_admin_chooses_among_everyones_keys_users_models_and_endpoints(client, admin_user, world):
    client.force_login(admin_user)
    page = client.get("/logs/")
    assert set(page.context["form"].fields["key"].queryset) == {world["alice_key"], world["bob_key"]}
    assert {"alice", "bob"} <= {user.username for user in page.context["users"]}
    assert "bob-only-model" in page.context["suggestions"]["models"]
    assert "/v1/bob-only" in page.context["suggestions"]["endpoints"]
    assert 'name="user" list="user-options"' in page.content.decode()


@pytest.mark.parametrize("query", ["user=bob", "user={bob_id}", "key={bob_key}"])
def test_a_users_url_naming_someone_else_is_refused_never_widened(client, alice, world, query):
    client.force_login(alice)
    query = query.format(bob_key=world["bob_key"].pk, bob_id=world["rows"]["failed"].user_id)
    name = query.split("=")[0]
    page = client.get(f"/logs/?{query}")
    assert shown(page) == set()
    assert "you may see" in page.content.decode() and 'role="alert"' in page.content.decode()
    api = client.get(f"/api/v1/requests?{query}")
    assert api.status_code == 400 and name in api.json()
    for url in (f"/logs/export.csv?{query}", f"/api/v1/requests/export.csv?{query}"):
        response = client.get(url)
        assert response.status_code == 400 and name in response.content.decode()


def test_a_user_may_name_themselves(client, alice, world):
    client.force_login(alice)
    assert shown(client.get("/logs/?user=alice")) == ids(world, "ok", "limited", "warned")


# --- the page -----------------------------------------------------------------------------------


def test_the_list_shows_every_column_coloured_by_status(client, admin_user, world):
    client.force_login(admin_user)
    html = client.get("/logs/").content.decode()
    for text in ("alice-ci", "openai-main", "gpt-5", "← gpt-4o", "/v1/chat/completions", "rate limited",
                 "TTFT 321 ms", 'class="status s4">429', 'class="status s5">502', 'class="row-error"'):  # fmt: skip
        assert text in html, text


def test_quick_ranges_keep_the_other_filters_and_enter_applies_them(client, admin_user, world):
    client.force_login(admin_user)
    html = client.get("/logs/?status=4xx&start=2026-01-01T00:00&size=20").content.decode()
    assert 'href="?status=4xx&amp;size=20&amp;range=today"' in html
    # The first submit button (the one Enter presses) is Apply, not a quick range.
    form = html[html.index('<form method="get" class="card filters') :]
    assert form.index('<button type="submit" class="visually-hidden"') < form.index('class="quick"')


def test_detail_shows_everything_stored_and_links_back_with_the_filters(client, admin_user, make_request_row, alice):
    row = make_request_row(
        user=alice, created_at=NOW - timedelta(minutes=3), model="claude-sonnet-4-5", original_model="claude-opus-4-1",
        provider_chain=[{"provider": "openrouter", "status_code": 502, "duration_ms": 2927},
                        {"provider": "anthropic-main", "status_code": 200, "duration_ms": 8120}],
        cost_multiplier=1.5, user_agent="claude-cli/2.0", messages_count=29, blocked_by="sensitive_word",
        blocked_reason="matched rule internal-codenames", error_message="blocked by content filter",
        attributes={"question": "什么是缓存？", "answer": "缓存是……", "tool_calls": [{"name": "grep"}],
                    "reasoning": "think first"},
        cache_creation_tokens=7, cache_read_tokens=11, input_tokens=3, output_tokens=5,
    )  # fmt: skip
    client.force_login(admin_user)
    html = client.get(f"/logs/{row.pk}/?status=4xx&model=x").content.decode()
    for text in ("claude-opus-4-1", "redirected", "openrouter", "2,927 ms", "anthropic-main", "8,120 ms", "× 1.5",
                 "claude-cli/2.0", "29", "sensitive_word", "matched rule internal-codenames",
                 "blocked by content filter", "什么是缓存？", "缓存是……", "grep", "think first",
                 '<td class="num">26</td>', 'href="/logs/?status=4xx&amp;model=x"'):  # fmt: skip
        assert text in html, text


def test_detail_says_which_source_and_price_entry_priced_the_row(client, admin_user, make_request_row, alice):
    from providers.pricing import PriceBook, Tokens

    priced = PriceBook([]).cost(
        model="gemini-2.5-pro", provider_type="gemini", multiplier=1, at=NOW,
        tokens=Tokens(input=250_000, output=10),
    )  # fmt: skip
    row = make_request_row(user=alice, created_at=NOW - timedelta(minutes=3), model="gemini-2.5-pro",
                           cost=priced.amount, cost_breakdown=priced.breakdown)  # fmt: skip
    client.force_login(admin_user)
    html = client.get(f"/logs/{row.pk}/").content.decode()
    assert "Price: genai-prices" in html and "google/gemini-2.5-pro" in html
    assert "the prompt was over 200,000 tokens" in html


def test_the_detail_page_of_a_request_without_content_says_so(client, alice, world):
    client.force_login(alice)
    html = client.get(f"/logs/{world['rows']['ok'].pk}/").content.decode()
    assert "No message content stored" in html and 'href="/logs/"' in html


def test_the_page_runs_a_fixed_number_of_queries(client, admin_user, world, make_request_row, alice,
                                                  django_assert_max_num_queries):  # fmt: skip
    for minute in range(30):
        make_request_row(user=alice, created_at=NOW - timedelta(minutes=minute))
    client.force_login(admin_user)
    client.get("/logs/")  # fills the cached suggestions
    with django_assert_max_num_queries(12):
        client.get("/logs/?size=100")  # rollups not filled: a bounded count
    for row in MessageRequest.objects.all():
        rollups.rollup_hour(rollups.floor_hour(row.created_at))
    with django_assert_max_num_queries(10):
        client.get("/logs/?size=100")  # the count from the rollups


# --- keyset pages -------------------------------------------------------------------------------


def test_keyset_pages_walk_every_row_once_both_ways_with_ties(client, alice, make_request_row):
    for minute in range(45):
        make_request_row(user=alice, created_at=NOW - timedelta(minutes=minute // 3))  # three rows a minute
    client.force_login(alice)
    seen, after, pages = [], "", []
    while True:
        page = client.get(f"/logs/?size=20&after={after}").context["page"]
        pages.append(page)
        seen += [row.pk for row in page.rows]
        if not page.next_cursor:
            break
        after = page.next_cursor
    assert len(seen) == len(set(seen)) == 45 and len(pages) == 3
    assert seen == [row.pk for row in MessageRequest.objects.order_by("-created_at", "-id")]
    back = client.get(f"/logs/?size=20&before={pages[2].previous_cursor}").context["page"]
    assert [row.pk for row in back.rows] == [row.pk for row in pages[1].rows]
    api_seen, url = [], "/api/v1/requests?size=20"
    while url:
        answer = client.get(url).json()
        api_seen += [row["id"] for row in answer["results"]]
        url = answer["next"]
    assert api_seen == seen
    newer = client.get(client.get(client.get("/api/v1/requests?size=20").json()["next"]).json()["previous"]).json()
    assert [row["id"] for row in newer["results"]] == seen[:20]


def test_a_stale_page_link_shows_the_newest_page_with_a_message(client, alice, world):
    client.force_login(alice)
    response = client.get("/logs/?after=not-a-cursor", follow=True)
    assert shown(response) == ids(world, "ok", "limited", "warned")
    assert "no longer valid" in response.content.decode()


# --- counts -------------------------------------------------------------------------------------


def test_counts_from_the_rollups_are_exact_before_and_after_the_hours_are_rolled_up(client, admin_user, world):
    client.force_login(admin_user)
    queries = {
        "": 5,
        "errors=true": 3,
        "status=4xx": 1,
        "provider={claude}": 3,
        "model=gpt-5": 1,
        "zero_tokens=true": 1,
        "no_price=true": 1,
    }
    for when in ("raw", "rolled up"):
        for query, expected in queries.items():
            page = client.get("/logs/?" + query.format(claude=world["claude"].pk)).context
            assert (page["count"], page["count_exact"]) == (expected, True), (when, query)
        for row in MessageRequest.objects.all():
            rollups.rollup_hour(rollups.floor_hour(row.created_at))


def test_counts_the_rollups_cannot_give_are_exact_below_the_limit_and_estimates_above(world):
    rows = MessageRequest.objects.all()
    assert bounded_count(rows) == (6, True)
    count, exact = bounded_count(rows, limit=2)
    assert not exact and count >= 3


def test_an_exact_count_that_would_be_slow_gives_way_to_the_estimate(world):
    slow = MessageRequest.objects.filter(id__gte=RawSQL("SELECT 0 FROM pg_sleep(0.2)", []))
    count, exact = bounded_count(slow, budget_ms=20)
    assert not exact and count >= 0
    assert MessageRequest.objects.count() == 6  # the cancelled statement left the transaction usable


def test_the_summary_labels_an_estimate(client, admin_user, world, monkeypatch):
    from usage import selectors

    monkeypatch.setattr(selectors, "_rollup_hours", lambda filterset, widen=False: None)
    monkeypatch.setattr(selectors, "EXACT_COUNT_LIMIT", 2)
    monkeypatch.setattr(selectors.bounded_count, "__defaults__", (2, selectors.COUNT_BUDGET_MS))
    client.force_login(admin_user)
    page = client.get("/logs/")
    html = page.content.decode()
    assert not page.context["count_exact"] and "(estimated)" in html
    assert client.get("/api/v1/requests").json()["count_exact"] is False


# --- the API ------------------------------------------------------------------------------------


def test_the_read_api_needs_the_read_scope(client, alice, make_key, world):
    ingest_only = make_key(alice, "push", scope_read=False)
    reader = make_key(alice, "pull", scope_ingest=False)
    assert client.get("/api/v1/requests", HTTP_AUTHORIZATION=f"Bearer {ingest_only.secret}").status_code == 403
    response = client.get("/api/v1/requests", HTTP_AUTHORIZATION=f"Bearer {reader.secret}")
    assert response.status_code == 200 and response.json()["count"] == 3
    assert api_ids(response) == ids(world, "ok", "limited", "warned")
    detail = client.get(f"/api/v1/requests/{world['rows']['limited'].pk}", HTTP_AUTHORIZATION=f"Bearer {reader.secret}")
    assert detail.json()["original_model"] == "gpt-4o" and detail.json()["total_tokens"] == 30
    export = client.get("/api/v1/requests/export.csv", HTTP_AUTHORIZATION=f"Bearer {reader.secret}")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")


def test_a_page_of_the_api_carries_its_count_and_links(client, admin_user, world):
    client.force_login(admin_user)
    answer = client.get("/api/v1/requests?size=20&status=4xx").json()
    assert answer["count"] == 1 and answer["count_exact"] is True
    assert answer["next"] is None and answer["previous"] is None
    row = answer["results"][0]
    assert row["user"] == "alice" and row["key"] == "alice-ci" and row["provider"] == "openai-main"
    assert row["status_code"] == 429 and row["ttft_ms"] == 321
