"""A small world of requests shared by the log, filter and export tests.

Every filter of the log has at least one row it keeps and one it drops; alice and bob own
different rows so visibility shows in every answer.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from providers.models import Provider

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
                                    endpoint="/v1/chat/completions", is_stream=True, ttft_ms=321,
                                    created_at=NOW - timedelta(hours=2)),
        "warned": make_request_row(user=alice, key_id=alice_key.pk, provider_id=claude.pk, session_id="s-2",
                                   error_message="stream cut short", is_stream=True, incomplete=True,
                                   created_at=NOW - timedelta(hours=4)),
        "failed": make_request_row(user=bob, key_id=bob_key.pk, provider_id=claude.pk, status_code=502,
                                   model="bob-only-model", endpoint="/v1/bob-only", price_missing=True,
                                   error_message="upstream reset", created_at=NOW - timedelta(hours=3)),
        "empty": make_request_row(user=bob, key_id=bob_key.pk, provider_id=openai.pk, input_tokens=0,
                                  output_tokens=0, created_at=NOW - timedelta(hours=5)),
        "old": make_request_row(user=alice, key_id=alice_key.pk, created_at=NOW - timedelta(days=9)),
    }  # fmt: skip
    return {"rows": rows, "openai": openai, "claude": claude, "alice_key": alice_key, "bob_key": bob_key}


def ids(world, *names) -> set[str]:
    return {world["rows"][name].request_id for name in names}


def shown(response) -> set[str]:
    """request_ids on a /logs/ page."""
    return {row.request_id for row in response.context["page"].rows}


def api_ids(response) -> set[str]:
    return {row["request_id"] for row in response.json()["results"]}


def read_csv(response) -> tuple[str, list[list[str]]]:
    """(the body as text, its rows) of a streamed CSV answer."""
    body = b"".join(response.streaming_content).decode("utf-8")
    return body, list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
