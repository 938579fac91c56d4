"""How a stored request reads back (issue 14): every stored attribute on the detail page and in
the API, tool calls as JSON (not a Python repr), costs as plain decimals on the page, in the API
and in the CSV export (never 5.000E-7 or 0E-10), times to the second."""

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.usage.logs_world import NOW, read_csv
from usage.export import COLUMNS
from usage.presentation import plain_decimal

pytestmark = pytest.mark.django_db
HEADER = [header for header, _field in COLUMNS]
WHEN = (NOW - timedelta(minutes=5)).replace(microsecond=123456)
# What the price book wrote into breakdowns: Python's str() of small and zero Decimals.
BREAKDOWN = {
    "model": "gpt-4o-mini", "price_effective_from": "2026-01-01", "multiplier": "1",
    "kinds": {"input": {"tokens": 1, "price_per_million": "0.5", "cost": "5.000E-7"}},
    "total": "5.000E-7",
}  # fmt: skip
ATTRIBUTES = {
    "question": "Why?",
    "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "read_ci_log", "arguments": '{"job":"build"}'}}],
    "route": "llm-route", "consumer": "team-search", "stop_reason": "end_turn",
    "input_token_details": {"cached_tokens": 1024}, "provider": "mystery-upstream",
}  # fmt: skip


@pytest.fixture
def row(alice, make_request_row):
    return make_request_row(
        user=alice, request_id="display-1", created_at=WHEN, cost=Decimal("0.0000005"), cost_breakdown=BREAKDOWN,
        attributes=ATTRIBUTES, is_stream=True, incomplete=True, error_message="the stream ended early",
    )  # fmt: skip


def test_the_detail_page_shows_every_stored_attribute_json_as_json_and_plain_costs(client, alice, row):
    client.force_login(alice)
    html = client.get(f"/logs/{row.pk}/").content.decode()
    for text in ("llm-route", "team-search", "stop_reason", "end_turn", "input_token_details",
                 "&quot;cached_tokens&quot;: 1024", "reported by the source: mystery-upstream",
                 "&quot;name&quot;: &quot;read_ci_log&quot;", "&quot;job&quot;: &quot;build&quot;",
                 "$0.0000005<", "$0.0000005000<", "incomplete"):  # fmt: skip
        assert text in html, text
    assert "E-7" not in html and "E-10" not in html
    assert "{&#x27;" not in html  # no Python repr of a dict
    shown = WHEN.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert f"<dd>{shown} (" in html and "123456" not in html


def test_the_api_gives_plain_costs_every_attribute_and_times_to_the_second(client, alice, row):
    client.force_login(alice)
    detail = client.get(f"/api/v1/requests/{row.pk}").json()
    assert detail["cost"] == "0.0000005000"
    assert detail["cost_breakdown"]["kinds"]["input"]["cost"] == "0.0000005000"
    assert detail["cost_breakdown"]["total"] == "0.0000005000"
    assert detail["attributes"] == ATTRIBUTES and detail["incomplete"] is True
    assert "." not in detail["created_at"].split("T")[1]  # no fraction of a second
    listed = client.get("/api/v1/requests").json()["results"][0]
    assert listed["created_at"] == detail["created_at"]


def test_the_csv_export_writes_costs_as_plain_decimals_and_times_to_the_second(client, alice, make_request_row, row):
    make_request_row(user=alice, created_at=NOW - timedelta(minutes=6), cost=Decimal(0))
    client.force_login(alice)
    _body, rows = read_csv(client.get("/logs/export.csv"))
    costs = [line[HEADER.index("cost_usd")] for line in rows[1:3]]
    assert costs == ["0.0000005000", "0.0000000000"]
    assert rows[-1][HEADER.index("cost_usd")] == "0.0000005000"  # the total
    assert "." not in rows[1][HEADER.index("time")]


@pytest.mark.parametrize(
    ("value", "trim", "written"),
    [
        (Decimal("5.000E-7"), False, "0.0000005000"),
        (Decimal("0E-10"), False, "0.0000000000"),
        (Decimal("0E-10"), True, "0"),
        (Decimal("0.0100800000"), True, "0.01008"),
        ("5.000E-7", True, "0.0000005"),
        (Decimal("1.5E+3"), True, "1500"),
        (None, True, ""),
    ],
)
def test_plain_decimal_never_writes_an_exponent(value, trim, written):
    assert plain_decimal(value, trim=trim) == written


@pytest.mark.parametrize("detail", [False, True])
def test_the_apis_quick_representation_equals_drfs_own(alice, make_key, make_request_row, detail):
    from rest_framework import serializers

    from providers.models import Provider
    from usage.api.logs import MessageRequestDetailSerializer, MessageRequestSerializer

    provider = Provider.objects.create(name="quick", type="openai")
    rows = [
        make_request_row(user=alice),  # no key, no provider, no cost
        make_request_row(
            user=alice,
            key_id=make_key(alice, "k").key.pk,
            provider_id=provider.pk,
            cost=Decimal("0.0000005"),
            cost_breakdown={"total": "5E-7"},
            status_code=None,
            duration_ms=1200,
            ttft_ms=300,
            is_stream=True,
            error_message="boom",
            attributes={"stop_reason": "end_turn"},
        ),  # fmt: skip
    ]
    serializer = (MessageRequestDetailSerializer if detail else MessageRequestSerializer)()
    for row in rows:
        assert serializer.to_representation(row) == serializers.ModelSerializer.to_representation(serializer, row)
