"""Zero-code OpenTelemetry with the real libraries: the official ``openai`` and ``anthropic`` SDKs,
instrumented by the published instrumentations, call a fake upstream (tests/usage/otel/upstream.py) and
export through the real OTLP/HTTP exporter to a live hub. Each call's stored row is compared with
what the upstream returned, per library and version.

Where an instrumentation itself drops or misreports a value, its scenario says so in ``drops``,
with why; the README's integration table lists the same, so a user can choose. The rows stored
are also written to test-artifacts/otel-instrumentations.json, the table of the closing note.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from hub.models import User
from usage.models import MessageRequest

from .upstream import FIRST_CHUNK_DELAY, Answer, FakeUpstream

pytestmark = pytest.mark.otel
CLIENT = Path(__file__).with_name("client.py")
ARTIFACT = Path(settings.BASE_DIR) / "test-artifacts" / "otel-instrumentations.json"
# An older Traceloop release, from before the GenAI conventions settled (gen_ai.system "OpenAI",
# llm.is_streaming, prompt_tokens): it cannot share the venv with the current one, so it is
# installed once into its own folder under var/ and put first on the client's PYTHONPATH.
OLD_TRACELOOP = "0.40.14"
OLD_PACKAGES = (
    f"opentelemetry-instrumentation-openai=={OLD_TRACELOOP}",
    f"opentelemetry-instrumentation-anthropic=={OLD_TRACELOOP}",
    "opentelemetry-semantic-conventions-ai==0.4.9",  # the release those two require
)
OK_CALLS = ("plain", "stream", "tool")


@dataclass(frozen=True)
class Scenario:
    id: str
    library: str  # the instrumentation, as a user installs it
    client: str  # its name for tests/usage/otel/client.py
    api: str  # "openai" | "anthropic"
    old: bool = False
    sdk_tracing: bool = False  # the anthropic SDK's own spans, on by default whenever OTel is set up
    session: str = ""
    # Per call kind, the values the hub stores instead of the upstream's, because the
    # instrumentation does not report them (or reports them wrong). Checked, so a release that
    # changes what it sends shows up here and in the README's table.
    drops: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Per call kind, how many rows one call gives when it is not one.
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def version(self) -> str:
        if self.old:
            return OLD_TRACELOOP
        package = {"openai-v2": "opentelemetry-instrumentation-openai-v2", "anthropic-sdk": "anthropic"}.get(
            self.client, f"opentelemetry-instrumentation-{self.api}"
        )
        return version(package)


def each(kinds: tuple[str, ...], values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {kind: dict(values) for kind in kinds}


SCENARIOS = [
    Scenario(
        "openai-v2", "opentelemetry-instrumentation-openai-v2", "openai-v2", "openai",
        drops={
            # Never reports cached or reasoning tokens for Chat Completions: the cache read is
            # stored as full-price input. Sets no stream flag and no first-chunk time.
            **each(("plain", "tool"), {"input": 1200, "cache_read": 0, "reasoning": 0}),
            "stream": {"input": 1200, "cache_read": 0, "reasoning": 0, "stream": False, "ttft": None},
        },
    ),
    Scenario(
        "traceloop-openai", "opentelemetry-instrumentation-openai (Traceloop)", "traceloop-openai", "openai",
        drops={"stream": {"reasoning": 0}},  # reasoning tokens only for non-streamed answers
    ),
    Scenario(
        "traceloop-openai-old", "opentelemetry-instrumentation-openai (Traceloop)", "traceloop-openai-old", "openai",
        old=True,
        drops={
            **each(("plain", "tool"), {"reasoning": 0}),  # no reasoning tokens at all
            # A stream's usage chunk is not read: no tokens.
            "stream": {"input": 0, "cache_read": 0, "output": 0, "reasoning": 0},
        },
    ),
    Scenario("anthropic-sdk", "anthropic SDK, built-in tracing", "anthropic-sdk", "anthropic",
             sdk_tracing=True, session="conversation-42"),
    Scenario(
        "traceloop-anthropic", "opentelemetry-instrumentation-anthropic (Traceloop)", "traceloop-anthropic",
        "anthropic",
        drops={
            **each(OK_CALLS, {"cache_creation_5m": 0, "cache_creation_1h": 0}),  # no TTL split
            # No stream flag or first-chunk time; output adds message_start's 1 to the final 120.
            "stream": {"cache_creation_5m": 0, "cache_creation_1h": 0, "stream": False, "ttft": None, "output": 121},
        },
    ),
    Scenario(
        "traceloop-anthropic-old", "opentelemetry-instrumentation-anthropic (Traceloop)", "traceloop-anthropic-old",
        "anthropic", old=True,
        drops={
            **each(("plain", "tool"), {"cache_creation_5m": 0, "cache_creation_1h": 0}),
            # messages.stream(): the span ends before the stream is read, with no tokens, model or id.
            "stream": {"input": 0, "cache_creation": 0, "cache_creation_5m": 0, "cache_creation_1h": 0,
                       "cache_read": 0, "output": 0, "stream": False, "ttft": None, "model": "claude-sonnet-4-5",
                       "original_model": "", "request_id": "trace-span"},
        },
        rows={"429": 0},  # a failed call gets no span
    ),
    # What a user of the current anthropic SDK gets with Traceloop's instrumentation: two spans per
    # call. The SDK's ends first and stays; a 429 has no response id to join its two spans by.
    Scenario("traceloop-anthropic+sdk", "opentelemetry-instrumentation-anthropic (Traceloop) + SDK tracing",
             "traceloop-anthropic", "anthropic", sdk_tracing=True, rows={"429": 2}),
]  # fmt: skip


def truth(answer: Answer, scenario: Scenario) -> dict[str, Any]:
    """The row the upstream's answer calls for, in the hub's token convention."""
    usage = answer.usage
    return {
        "input": usage.get("input", 0),
        "cache_creation": usage.get("cache_creation", 0),
        "cache_creation_5m": usage.get("cache_creation_5m", 0),
        "cache_creation_1h": usage.get("cache_creation_1h", 0),
        "cache_read": usage.get("cache_read", 0),
        "output": usage.get("output", 0),
        "reasoning": usage.get("reasoning", 0),
        "stream": answer.kind == "stream",
        "ttft": "measured" if answer.kind == "stream" else None,
        "status": answer.status,
        "provider": answer.api,
        "model": answer.model or answer.asked_model,
        "original_model": answer.asked_model if answer.model and answer.model != answer.asked_model else "",
        "session": scenario.session,
        "request_id": "response id" if answer.response_id else "trace-span",
    }


def stored(row: MessageRequest, answer: Answer) -> dict[str, Any]:
    ttft = row.ttft_ms
    if ttft is not None and FIRST_CHUNK_DELAY * 1000 <= ttft <= (row.duration_ms or 0):
        ttft = "measured"  # after the upstream's delay before the first chunk, within the call
    return {
        "input": row.input_tokens,
        "cache_creation": row.cache_creation_tokens,
        "cache_creation_5m": row.cache_creation_5m_tokens,
        "cache_creation_1h": row.cache_creation_1h_tokens,
        "cache_read": row.cache_read_tokens,
        "output": row.output_tokens,
        "reasoning": row.reasoning_tokens,
        "stream": row.is_stream,
        "ttft": ttft,
        "status": row.status_code,
        "provider": row.provider.name if row.provider else (row.attributes or {}).get("provider"),
        "model": row.model,
        "original_model": row.original_model if row.original_model != row.model else "",
        "session": row.session_id,
        "request_id": "response id" if answer.response_id and row.request_id == answer.response_id else "trace-span",
    }


@pytest.fixture(scope="session")
def older_traceloop() -> Path:
    """The older release, installed once per machine (kept under var/ between runs)."""
    folder = Path(settings.VAR_DIR) / "otel-clients" / f"traceloop-{OLD_TRACELOOP}"
    marker = folder / ".installed"
    if not marker.exists():
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                   "--target", str(folder), *OLD_PACKAGES]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, f"could not install {OLD_PACKAGES}: {done.stderr[-2000:]}"
        marker.touch()
    return folder


@pytest.fixture(autouse=True)
def _no_rollups(monkeypatch):
    # Each span is its own export here, and tests run Celery eagerly: a rollup after every one
    # would be most of the time these tests take, for nothing they check.
    monkeypatch.setattr("usage.tasks.rollups_process.apply_async", lambda *args, **kwargs: None)


@pytest.fixture
def upstream():
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def app_key(make_user, make_key, request):
    # An admin's key, as a gateway's: the hub learns the provider names it is sent, so the test sees them.
    user = make_user(f"app-{request.node.callspec.id}"[:150], role=User.Role.ADMIN)
    return make_key(user, "otel")


def run_client(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False, cwd=CLIENT.parent
    )


def calls_and_rows(upstream: FakeUpstream, owner_id: int) -> list[tuple[Answer, list[MessageRequest]]]:
    """Each upstream call with the rows stored for it. A call's spans start after the previous
    call's request reached the upstream and before its own did."""
    rows = MessageRequest.objects.filter(user_id=owner_id).select_related("provider").order_by("created_at", "id")
    grouped: list[tuple[Answer, list[MessageRequest]]] = [(answer, []) for answer in upstream.answers]
    for row in rows:
        index = sum(1 for answer in upstream.answers if answer.arrived_at < row.created_at)
        grouped[min(index, len(grouped) - 1)][1].append(row)
    return grouped


def record_table(scenario: Scenario, grouped: list[tuple[Answer, list[MessageRequest]]]) -> None:
    ARTIFACT.parent.mkdir(exist_ok=True)
    table = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    table[scenario.id] = {
        "library": scenario.library,
        "version": scenario.version,
        "sdk": f"{scenario.api} {version(scenario.api)}",
        "calls": [
            {
                "call": answer.kind,
                "upstream": truth(answer, scenario),
                "stored": [{**stored(row, answer), "ttft_ms": row.ttft_ms} for row in rows],
            }
            for answer, rows in grouped
        ],
    }
    ARTIFACT.write_text(json.dumps(table, indent=1, default=str))


def expected_rows(scenario: Scenario, answer: Answer) -> list[dict[str, Any]]:
    row = {**truth(answer, scenario), **scenario.drops.get(answer.kind, {})}
    return [row] * scenario.rows.get(answer.kind, 1)


def check(scenario: Scenario, upstream: FakeUpstream, owner_id: int) -> None:
    grouped = calls_and_rows(upstream, owner_id)
    record_table(scenario, grouped)
    assert [answer.kind for answer, _rows in grouped] == ["plain", "stream", "tool", "429"]
    for answer, rows in grouped:
        got = [stored(row, answer) for row in rows]
        assert got == expected_rows(scenario, answer), f"{scenario.library} {scenario.version}, {answer.kind} call"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.id for scenario in SCENARIOS])
def test_the_hub_stores_what_the_upstream_returned(scenario, live_server, upstream, app_key, older_traceloop):
    env = {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{live_server.url}/api/v1/otlp/v1/traces",
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{app_key.secret}",
        "ANTHROPIC_OPEN_TELEMETRY": "true" if scenario.sdk_tracing else "false",
    }
    if scenario.old:
        env["PYTHONPATH"] = str(older_traceloop)
    done = run_client([sys.executable, str(CLIENT), scenario.client, upstream.url], env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Failed to export" not in done.stderr, done.stderr[-3000:]

    check(scenario, upstream, app_key.key.owner_id)


ZERO_CODE = Scenario(
    "zero-code", "opentelemetry-instrument + anthropic SDK (+ Traceloop, auto-loaded)", "zero-code", "anthropic",
    sdk_tracing=True, rows={"429": 2},
)  # fmt: skip


def test_zero_code_python_with_the_readmes_variables_exports_without_a_failure(live_server, upstream, make_user,
                                                                                make_key):  # fmt: skip
    """`opentelemetry-instrument` with exactly the README's variables: traces, metrics and logs go
    to the hub's OTLP base URL over http/protobuf; traces are stored, metrics and logs answered."""
    key = make_key(make_user("zero-code", role=User.Role.ADMIN), "otel")
    env = {
        "OTEL_SERVICE_NAME": "my-app",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"{live_server.url}/api/v1/otlp",
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{key.secret}",
    }
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    done = run_client([str(instrument), sys.executable, str(CLIENT), "zero-code", upstream.url], env)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Failed to export" not in done.stderr and "404" not in done.stderr, done.stderr[-3000:]
    check(ZERO_CODE, upstream, key.key.owner_id)
