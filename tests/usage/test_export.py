"""CSV exports: the filtered log (streamed, BOM, escapes, totals) and the monthly statement
(sections that add up, and agree with the leaderboard and with the log of the same month)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.http import StreamingHttpResponse

from tests.usage import logs_world
from tests.usage.logs_world import NOW, ids, read_csv
from usage import rollups
from usage.export import COLUMNS

pytestmark = pytest.mark.django_db
world = logs_world.world
SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = [header for header, _field in COLUMNS]


def test_the_export_streams_utf8_with_a_bom_chinese_text_and_a_totals_line(client, alice, make_request_row):
    make_request_row(user=alice, error_message="上游超时：请稍后重试", cost=Decimal("0.25"), input_tokens=5,
                     output_tokens=1, cache_read_tokens=100, created_at=NOW - timedelta(minutes=2))  # fmt: skip
    make_request_row(user=alice, cost=Decimal("0.5"), input_tokens=7, output_tokens=2, cache_creation_tokens=9,
                     created_at=NOW - timedelta(minutes=1))  # fmt: skip
    make_request_row(user=alice, cost=None, price_missing=True, input_tokens=1, output_tokens=1,
                     created_at=NOW - timedelta(minutes=3))  # fmt: skip
    client.force_login(alice)
    response = client.get("/logs/export.csv")
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="requests-')
    body, rows = read_csv(response)
    assert body.startswith("\ufeff") and "上游超时：请稍后重试" in body
    assert rows[0] == HEADER and len(rows) == 5
    assert [row[HEADER.index("cost_usd")] for row in rows[1:4]] == ["0.5000000000", "0.2500000000", ""]
    assert rows[2][HEADER.index("time")].endswith("+08:00")  # shown in the system time zone
    totals = dict(zip(HEADER, rows[-1], strict=True))
    assert totals["id"] == "TOTAL" and totals["request_id"] == "3 requests"
    assert (totals["input_tokens"], totals["output_tokens"]) == ("13", "4")
    assert (totals["cache_creation_tokens"], totals["cache_read_tokens"]) == ("9", "100")
    assert Decimal(totals["cost_usd"]) == Decimal("0.75")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_a_spreadsheet_would_run_is_quoted(client, admin_user, make_user, make_key, make_request_row, start):
    owner = make_user(f"{start}cmd|calc")
    key = make_key(owner, f"{start}SUM(A1)").key
    make_request_row(user=owner, key_id=key.pk, model=f"{start}model", endpoint=f"{start}/v1", session_id=f"{start}s",
                     error_message=f'{start}HYPERLINK("http://evil")', request_id=f"{start}rid",
                     created_at=NOW - timedelta(minutes=1))  # fmt: skip
    client.force_login(admin_user)
    _body, rows = read_csv(client.get("/logs/export.csv"))
    row = dict(zip(HEADER, rows[1], strict=True))
    for column in ("request_id", "session_id", "user", "key", "model", "endpoint", "error"):
        assert row[column].startswith("'" + start), column
    assert row["status"] == "200" and row["input_tokens"] == "10"  # numbers are left alone


def test_the_export_holds_exactly_the_filtered_view(client, admin_user, world):
    client.force_login(admin_user)
    _body, rows = read_csv(client.get("/logs/export.csv?errors=true&provider=" + str(world["claude"].pk)))
    assert {row[1] for row in rows[1:-1]} == ids(world, "warned", "failed")
    assert rows[-1][1] == "2 requests"
    _body, rows = read_csv(client.get("/api/v1/requests/export.csv?status=4xx"))
    assert {row[1] for row in rows[1:-1]} == ids(world, "limited")


def test_the_export_link_carries_the_filters_but_not_the_page(client, admin_user, world):
    client.force_login(admin_user)
    page = client.get(f"/logs/?status=5xx&size=20&after={'x' * 8}").content.decode()
    assert 'href="/logs/export.csv?status=5xx"' in page


def test_an_empty_export_still_has_its_header_and_totals(client, alice):
    client.force_login(alice)
    body, rows = read_csv(client.get("/logs/export.csv"))
    assert body.startswith("\ufeff") and rows[0] == HEADER
    assert rows[1][:2] == ["TOTAL", "0 requests"] and rows[1][HEADER.index("cost_usd")] == ""


# --- the monthly statement ----------------------------------------------------------------------


@pytest.fixture
def march(alice, bob, make_key, make_request_row):
    """Rows of March 2026 in Shanghai, with one on each side of its edges."""
    alice_key, bob_key = make_key(alice, "alice-ci").key, make_key(bob, "bob-ci").key
    inside = [
        (alice, alice_key, datetime(2026, 3, 1, 0, 30, tzinfo=SHANGHAI), "1.5"),  # Feb 28 16:30 UTC
        (alice, None, datetime(2026, 3, 15, 12, tzinfo=SHANGHAI), "0.25"),
        (bob, bob_key, datetime(2026, 3, 31, 23, 30, tzinfo=SHANGHAI), "2.25"),
        (bob, bob_key, datetime(2026, 3, 20, tzinfo=SHANGHAI), None),  # no price: no cost, not $0
    ]
    outside = [
        (bob, bob_key, datetime(2026, 2, 28, 23, 59, tzinfo=SHANGHAI), "9"),
        (alice, alice_key, datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI), "9"),
    ]
    rows = [
        make_request_row(user=user, key_id=key.pk if key else None, created_at=when,
                         cost=Decimal(cost) if cost else None, input_tokens=10, output_tokens=1)
        for user, key, when, cost in inside + outside
    ]  # fmt: skip
    return rows


def _sections(rows: list[list[str]]) -> dict[str, list[list[str]]]:
    found: dict[str, list[list[str]]] = {}
    for row in rows:
        if row and row[0] in ("user", "key", "provider"):
            found.setdefault(row[0], []).append(row)
    return found


def test_each_section_of_the_statement_adds_up_to_the_months_total(client, admin_user, march):
    client.force_login(admin_user)
    response = client.get("/logs/statement.csv?month=2026-03")
    assert response["Content-Disposition"] == 'attachment; filename="statement-2026-03.csv"'
    body, rows = read_csv(response)
    assert body.startswith("\ufeff") and rows[0][:2] == ["statement", "2026-03"]
    total = rows[-1]
    assert total[:4] == ["TOTAL", "", "2026-03", "4"] and Decimal(total[-1]) == Decimal("4")
    sections = _sections(rows)
    assert set(sections) == {"user", "key", "provider"}
    for name, lines in sections.items():
        assert sum(int(line[3]) for line in lines) == 4, name
        assert sum(Decimal(line[-1] or 0) for line in lines) == Decimal("4"), name
        assert sum(int(line[4]) for line in lines) == 40, name
    assert [line[2] for line in sections["user"]] == ["bob", "alice"]  # dearest first
    assert {line[2] for line in sections["key"]} == {"alice-ci · alice", "bob-ci · bob", "—"}


def test_the_statement_agrees_with_the_leaderboard_and_the_log_of_the_month(client, admin_user, march):
    from stats.selectors import leaderboard

    for row in march:
        rollups.rollup_hour(rollups.floor_hour(row.created_at))  # the leaderboard reads the rollups
    client.force_login(admin_user)
    _body, rows = read_csv(client.get("/logs/statement.csv?month=2026-03"))
    statement = {int(line[1]): (int(line[3]), Decimal(line[-1] or 0)) for line in _sections(rows)["user"]}
    start, end = datetime(2026, 3, 1, tzinfo=SHANGHAI), datetime(2026, 4, 1, tzinfo=SHANGHAI)
    board = leaderboard(viewer=admin_user, start=start, end=end, by="user")
    assert {entry["id"]: (entry["requests"], entry["cost"] or Decimal(0)) for entry in board} == statement
    _body, log = read_csv(client.get("/logs/export.csv?start=2026-03-01T00:00&end=2026-04-01T00:00"))
    log_total = dict(zip(HEADER, log[-1], strict=True))
    assert log_total["request_id"] == f"{rows[-1][3]} requests"
    assert Decimal(log_total["cost_usd"]) == Decimal(rows[-1][-1])
    assert log_total["input_tokens"] == rows[-1][4]


def test_a_user_gets_a_statement_of_their_own_rows(client, alice, march):
    client.force_login(alice)
    _body, rows = read_csv(client.get("/logs/statement.csv?month=2026-03"))
    assert rows[-1][3] == "2" and Decimal(rows[-1][-1]) == Decimal("1.75")
    assert [line[2] for line in _sections(rows)["user"]] == ["alice"]
    assert "bob" not in "".join(",".join(row) for row in rows)


@pytest.mark.parametrize("month", ["", "March", "2026-13", "2026-3-1"])
def test_a_statement_needs_a_month(client, alice, month):
    client.force_login(alice)
    response = client.get(f"/logs/statement.csv?month={month}")
    assert response.status_code == 400 and b"month" in response.content


def test_the_months_edges_are_the_system_time_zones(client, admin_user, march):
    client.force_login(admin_user)
    _body, rows = read_csv(client.get("/logs/statement.csv?month=2026-02"))
    assert rows[-1][3] == "1" and Decimal(rows[-1][-1]) == Decimal("9")  # Feb 28 23:59 local, 15:59 UTC
    assert datetime(2026, 2, 28, 15, 59, tzinfo=UTC) == march[4].created_at
