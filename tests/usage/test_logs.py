"""/logs/ and /api/v1/requests: every filter, visibility, windows, pages, detail, exports."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from providers.models import Provider
from usage.filters import range_bounds
from usage.selectors import bounded_count

pytestmark = pytest.mark.django_db
NOW = timezone.now()


@pytest.fixture
def world(alice, bob, make_key, make_request_row):
    openai = Provider.objects.create(name="openai-main", type="openai")
    claude = Provider.objects.create(name="claude-main", type="claude")
    alice_key, bob_key = make_key(alice, "alice-ci").key, make_key(bob, "bob-ci").key
    rows = {
        "ok": make_request_row(user=alice, key_id=alice_key.pk, provider_id=claude.pk, session_id="s-1",
                               created_at=NOW - timedelta(hours=1), endpoint="/v1/messages"),
        "limited": make_request_row(user=alice, key_id=alice_key.pk, provider_id=openai.pk, model="gpt-5",
                                    original_model="gpt-4o", status_code=429, error_message="rate limited",
                                    endpoint="/v1/chat/completions", created_at=NOW - timedelta(hours=2)),
        "failed": make_request_row(user=bob, key_id=bob_key.pk, provider_id=claude.pk, status_code=502,
                                   error_message="upstream reset", created_at=NOW - timedelta(hours=3)),
        "old": make_request_row(user=alice, created_at=NOW - timedelta(days=9)),
    }  # fmt: skip
    return {"rows": rows, "openai": openai, "claude": claude, "alice_key": alice_key, "bob_key": bob_key}


def shown(response) -> set[str]:
    return {row.request_id for row in response.context["page"].rows}


def ids(world, *names) -> set[str]:
    return {world["rows"][name].request_id for name in names}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"ok", "limited", "failed"}),
        ("status=4xx", {"limited"}),
        ("status=502", {"failed"}),
        ("status=2xx", {"ok"}),
        ("errors=true", {"limited", "failed"}),
        ("model=gpt-5", {"limited"}),
        ("original_model=gpt-4o", {"limited"}),
        ("endpoint=/v1/messages", {"ok", "failed"}),
        ("session=s-1", {"ok"}),
        ("user=bob", {"failed"}),
        ("range=last_30_days", {"ok", "limited", "failed", "old"}),
    ],
)
def test_each_filter_narrows_the_page_and_the_api_alike(client, admin_user, world, query, expected):
    client.force_login(admin_user)
    page = client.get(f"/logs/?{query}")
    assert page.status_code == 200 and shown(page) == ids(world, *expected)
    api = client.get(f"/api/v1/requests?{query}").json()
    assert {row["request_id"] for row in api["results"]} == ids(world, *expected)


def test_key_and_provider_filters(client, admin_user, world):
    client.force_login(admin_user)
    assert shown(client.get(f"/logs/?provider={world['openai'].pk}")) == ids(world, "limited")
    assert shown(client.get(f"/logs/?key={world['bob_key'].pk}")) == ids(world, "failed")


def test_explicit_start_and_end_reach_outside_the_default_week(client, alice, world):
    client.force_login(alice)
    start = (NOW - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    end = (NOW - timedelta(days=8)).strftime("%Y-%m-%dT%H:%M")
    assert shown(client.get(f"/logs/?start={start}&end={end}")) == ids(world, "old")
    bad = client.get(f"/logs/?start={end}&end={start}")
    assert "after the start" in bad.content.decode()


def test_a_user_sees_only_their_own_rows_and_choices(client, alice, world):
    client.force_login(alice)
    page = client.get("/logs/")
    assert shown(page) == ids(world, "ok", "limited")
    assert list(page.context["form"].fields["key"].queryset) == [world["alice_key"]]
    assert [u.username for u in page.context["users"]] == ["alice"]


@pytest.mark.parametrize("query", ["user=bob", "key={bob_key}"])
def test_a_users_url_naming_someone_else_is_refused_never_widened(client, alice, world, query):
    client.force_login(alice)
    query = query.format(bob_key=world["bob_key"].pk)
    page = client.get(f"/logs/?{query}")
    assert shown(page) == set()
    assert 'role="alert"' in page.content.decode()
    api = client.get(f"/api/v1/requests?{query}")
    assert api.status_code == 400 and query.split("=")[0] in api.json()
    assert client.get(f"/logs/export.csv?{query}").status_code == 400
    assert client.get(f"/api/v1/requests/export.csv?{query}").status_code == 400


def test_bad_values_answer_400_naming_the_parameter(client, admin_user, world):
    client.force_login(admin_user)
    for query, name in [("status=abc", "status"), ("start=yesterday", "start"), ("size=7", "size"),
                        ("range=forever", "range"), ("after=garbage", "after")]:  # fmt: skip
        response = client.get(f"/api/v1/requests?{query}")
        assert response.status_code == 400 and name in response.json(), query


def test_detail_shows_everything_and_another_users_row_is_404(client, alice, world):
    client.force_login(alice)
    limited = world["rows"]["limited"]
    page = client.get(f"/logs/{limited.pk}/?status=4xx").content.decode()
    for text in ("gpt-5", "gpt-4o", "rate limited", "429", "/logs/?status=4xx"):
        assert text in page
    assert client.get(f"/logs/{world['rows']['failed'].pk}/").status_code == 404
    assert client.get(f"/api/v1/requests/{world['rows']['failed'].pk}").status_code == 404
    assert client.get(f"/api/v1/requests/{limited.pk}").json()["original_model"] == "gpt-4o"


def test_keyset_pages_walk_every_row_once_both_ways(client, alice, make_request_row):
    for minute in range(45):
        make_request_row(user=alice, created_at=NOW - timedelta(minutes=minute))
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
    back = client.get(f"/logs/?size=20&before={pages[1].previous_cursor}").context["page"]
    assert [row.pk for row in back.rows] == [row.pk for row in pages[0].rows]
    api = client.get("/api/v1/requests?size=20").json()
    second = client.get(api["next"]).json()
    assert len(api["results"]) == 20 and {r["id"] for r in second["results"]}.isdisjoint(
        r["id"] for r in api["results"]
    )


def test_counts_are_exact_below_the_limit_and_labelled_estimates_above(alice, world):
    from usage.models import MessageRequest

    rows = MessageRequest.objects.all()
    assert bounded_count(rows) == (4, True)
    count, exact = bounded_count(rows, limit=2)
    assert not exact and count >= 3


def test_quick_ranges_follow_the_system_time_zone_around_midnight():
    # 2026-03-10 23:30 UTC is already 07:30 on the 11th in Asia/Shanghai.
    now = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    start, end = range_bounds("today", now=now)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (
        datetime(2026, 3, 10, 16, 0, tzinfo=UTC),
        datetime(2026, 3, 11, 16, 0, tzinfo=UTC),
    )
    assert range_bounds("yesterday", now=now)[0].astimezone(UTC) == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    week_start = range_bounds("this_week", now=now)[0]
    assert week_start.weekday() == 0 and week_start.hour == 0  # Monday midnight, local
    assert range_bounds("this_month", now=now)[0].astimezone(UTC) == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)


def _csv(response) -> tuple[str, list[list[str]]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return body, list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def test_csv_export_has_bom_chinese_text_escaped_formulas_and_totals(client, alice, make_request_row):
    make_request_row(user=alice, error_message="=HYPERLINK(\"http://evil\")", cost=Decimal("0.5"), input_tokens=7,
                     created_at=NOW - timedelta(minutes=1))  # fmt: skip
    make_request_row(user=alice, error_message="上游超时", cost=Decimal("0.25"), input_tokens=5,
                     created_at=NOW - timedelta(minutes=2))  # fmt: skip
    client.force_login(alice)
    response = client.get("/logs/export.csv")
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    body, rows = _csv(response)
    assert body.startswith("\ufeff")
    header, first, second, totals = rows[0], rows[1], rows[2], rows[-1]
    error = header.index("error")
    assert first[error] == '\'=HYPERLINK("http://evil")' and second[error] == "上游超时"
    assert totals[0] == "TOTAL" and totals[1] == "2 requests"
    assert totals[header.index("input_tokens")] == "12" and Decimal(totals[header.index("cost_usd")]) == Decimal("0.75")


def test_exports_hold_only_the_viewers_rows(client, alice, world):
    client.force_login(alice)
    _body, rows = _csv(client.get("/logs/export.csv?range=last_30_days"))
    assert {row[1] for row in rows[1:-1]} == ids(world, "ok", "limited", "old")
    _body, api_rows = _csv(client.get("/api/v1/requests/export.csv"))
    assert {row[1] for row in api_rows[1:-1]} == ids(world, "ok", "limited")


def test_monthly_statement_sections_each_add_up_to_the_months_total(client, admin_user, alice, bob, make_request_row):
    when = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)
    for user, cost in ((alice, "1.5"), (alice, "0.5"), (bob, "2")):
        make_request_row(user=user, created_at=when, cost=Decimal(cost), input_tokens=10)
    make_request_row(
        user=bob, created_at=datetime(2026, 2, 28, 15, 0, tzinfo=UTC), cost=Decimal("9")
    )  # Feb 28 23:00 local
    client.force_login(admin_user)
    _body, rows = _csv(client.get("/logs/statement.csv?month=2026-03"))
    total = rows[-1]
    assert total[0] == "TOTAL" and total[3] == "3" and Decimal(total[-1]) == Decimal("4")
    for section in ("user", "key", "provider"):
        lines = [row for row in rows if row and row[0] == section]
        assert sum(Decimal(row[-1] or 0) for row in lines) == Decimal("4")
        assert sum(int(row[3]) for row in lines) == 3
    client.force_login(alice)
    _body, own = _csv(client.get("/logs/statement.csv?month=2026-03"))
    assert Decimal(own[-1][-1]) == Decimal("2")
    assert client.get("/logs/statement.csv?month=March").status_code == 400


def test_the_read_api_needs_the_read_scope(client, alice, make_key, world):
    ingest_only = make_key(alice, "push", scope_read=False)
    reader = make_key(alice, "pull", scope_ingest=False)
    assert client.get("/api/v1/requests", HTTP_AUTHORIZATION=f"Bearer {ingest_only.secret}").status_code == 403
    response = client.get("/api/v1/requests", HTTP_AUTHORIZATION=f"Bearer {reader.secret}")
    assert response.status_code == 200 and response.json()["count"] == 2
    assert client.get("/api/v1/requests").status_code == 401
