"""Each business definition is one Q; its SQL spelling (the rollups') selects the same rows."""

import pytest
from django.db import connection

from usage.definitions import ERROR, ZERO_TOKENS, cache_hit_ratio, condition_sql, total_tokens
from usage.models import MessageRequest

pytestmark = pytest.mark.django_db

CASES = [
    {"status_code": 200},
    {"status_code": 200, "input_tokens": 0, "output_tokens": 0},
    {"status_code": 399, "input_tokens": 0, "output_tokens": 0},
    {"status_code": 400, "input_tokens": 0, "output_tokens": 0},
    {"status_code": 500},
    {"status_code": None, "input_tokens": 0, "output_tokens": 0},
    {"status_code": 200, "error_message": "upstream reset"},
    {"status_code": 200, "input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 5},
    {"status_code": 200, "input_tokens": 0, "output_tokens": 0, "cache_creation_tokens": 5},
]


@pytest.mark.parametrize(("name", "condition"), [("ERROR", ERROR), ("ZERO_TOKENS", ZERO_TOKENS)])
def test_the_sql_of_a_definition_selects_what_its_q_selects(alice, make_request_row, name, condition):
    rows = [make_request_row(user=alice, **case) for case in CASES]
    by_q = set(MessageRequest.objects.filter(condition).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM message_request WHERE {condition_sql(name)}")  # noqa: S608
        by_sql = {found for (found,) in cursor.fetchall()}
    assert by_sql == by_q and 0 < len(by_q) < len(rows)


def test_the_python_error_rule_agrees_with_the_query(alice, make_request_row):
    rows = [make_request_row(user=alice, **case) for case in CASES]
    errors = set(MessageRequest.objects.filter(ERROR).values_list("pk", flat=True))
    assert {row.pk for row in rows if row.is_error} == errors


def test_totals_and_cache_hit_ratio_count_every_prompt_kind_once():
    row = {"input_tokens": 10, "cache_creation_tokens": 20, "cache_read_tokens": 70, "output_tokens": 5}
    assert total_tokens(row) == 105
    assert cache_hit_ratio(row) == 0.7
    assert cache_hit_ratio(dict.fromkeys(row, 0)) is None
