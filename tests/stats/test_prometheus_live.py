"""/metrics against real processes: two web servers agree with each other and with the database, and a
real Prometheus, run with the shipped scrape config, answers every expression of the shipped dashboard
and Higress's own PromQL with data, its token totals equal to the database's.

Both tests start gunicorn on free loopback ports over this test run's database (committed rows:
``transaction=True``); the second also starts Debian's Prometheus (installed when missing, like the
browser) on a free loopback port with a temporary storage folder, and stops everything it started.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from django.db.models import Sum
from prometheus_client.parser import text_string_to_metric_families

from stats.tasks import provider_statuses_refresh
from tests.servers import database_url, free_port
from usage.models import MessageRequest

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent.parent
HIGRESS = "route_upstream_model_consumer_metric_"
# Higress ai-statistics' documented examples, verbatim.
HIGRESS_PROMQL = [
    f"irate({HIGRESS}llm_first_token_duration[2m])\n/\nirate({HIGRESS}llm_stream_duration_count[2m])",
    f"irate({HIGRESS}llm_service_duration[2m])\n/\nirate({HIGRESS}llm_duration_count[2m])",
]
# Grafana's variables, as a dashboard over the last few minutes would fill them in.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "5m", "$__interval": "15s"}


def wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


@contextmanager
def web_server(**environment):
    """A gunicorn (2 workers) serving the hub over this test run's database; yields its base URL."""
    port = free_port()
    env = {
        **os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "hub.settings.test",
        "METRICS_ALLOWED_IPS": "127.0.0.1", "METRICS_CACHE_SECONDS": "1", **environment,
    }  # fmt: skip
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "hub.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_for(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(30)


def get(url: str, **headers) -> bytes:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback, our own server)
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return response.read()


def ingest(base: str, key: str, records: list[dict]) -> dict:
    request = urllib.request.Request(  # noqa: S310
        f"{base}/api/v1/ingest/records", data=json.dumps(records).encode(), method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return json.loads(response.read())


def records(count: int, *, offset_minutes: int = 0) -> list[dict]:
    now = datetime.now(UTC)
    models = [("openai", "gpt-4o", "/v1/chat/completions"), ("anthropic", "claude-sonnet-4-5", "/v1/messages")]
    out = []
    for index in range(count):
        provider, model, endpoint = models[index % 2]
        out.append({
            "request_id": f"live-{uuid.uuid4()}", "created_at": (now - timedelta(minutes=offset_minutes,
            seconds=index)).isoformat(), "provider": provider, "model": model, "endpoint": endpoint,
            "status_code": 429 if index % 7 == 0 else 200, "is_stream": True, "input_tokens": 100 + index,
            "output_tokens": 20 + index, "cache_read_tokens": 10 * (index % 3), "cache_creation_tokens": index % 2,
            "duration_ms": 400 + 37 * index, "ttft_ms": 80 + 5 * index, "session_id": f"s{index % 3}",
        })  # fmt: skip
    return out


# Gauges of the moment of reading (seconds until a key expires, how long the read took) differ by design.
OF_THE_MOMENT = (
    "llm_hub_metrics_collect_duration_seconds",
    "llm_hub_metrics_built_timestamp_seconds",
    "llm_hub_api_key_expiry_seconds",
)


def hub_part(body: bytes) -> dict:
    """The hub's own metrics (not django-prometheus's per-process ones), as (name, labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        if family.name.startswith(("llm_hub_", HIGRESS, "gen_ai_")) and family.name not in OF_THE_MOMENT
        for sample in family.samples
    }


def token_sums() -> dict:
    return MessageRequest.objects.aggregate(
        input=Sum("input_tokens"), output=Sum("output_tokens"), cache_read=Sum("cache_read_tokens"),
        cache_creation=Sum("cache_creation_tokens"),
    )  # fmt: skip


@pytest.fixture
def ingest_key(admin_user, make_key):
    # It expires, so the dashboard's key expiry panel has a key to show.
    return make_key(admin_user, "gateway", expires_at=datetime.now(UTC) + timedelta(days=30)).secret


def test_two_web_processes_answer_the_same_counters_equal_to_the_database(ingest_key):
    with web_server() as first, web_server() as second:
        for round_ in range(3):
            ingest(first if round_ % 2 else second, ingest_key, records(20, offset_minutes=round_ * 70))
            time.sleep(2.2)  # past two intervals of the cache: no worker runs here to build the text ahead
            one, two = hub_part(get(f"{first}/metrics")), hub_part(get(f"{second}/metrics"))
            assert one == two
            sums = token_sums()
            for kind in ("input", "output", "cache_read", "cache_creation"):
                value = sum(v for (name, labels), v in one.items()
                            if name == "llm_hub_tokens_total" and ("type", kind) in labels)  # fmt: skip
                assert value == sums[kind], kind
            requests = sum(v for (name, _labels), v in one.items() if name == "llm_hub_requests_total")
            assert requests == MessageRequest.objects.count() == 20 * (round_ + 1)


# --- a real Prometheus ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus_binary() -> str:
    if not shutil.which("prometheus"):
        subprocess.run([ROOT / "tests" / "install-prometheus.sh"], check=True, timeout=600)
    return shutil.which("prometheus")


@contextmanager
def prometheus(binary: str, target: str, folder: Path):
    """Prometheus on a free loopback port with the shipped scrape config pointed at ``target``."""
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["scrape_configs"][0]["static_configs"][0]["targets"] = [target]
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    server = subprocess.Popen(
        [binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def query(prometheus_url: str, expression: str) -> list:
    answer = json.loads(get(f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expression})))
    assert answer["status"] == "success", (expression, answer)
    return answer["data"]["result"]


def dashboard_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "llm-hub.json").read_text())
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expression = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expression = expression.replace(variable, value)
            found.append((panel["title"], expression))
    return found


def test_a_real_prometheus_answers_the_dashboard_and_higress_promql(ingest_key, prometheus_binary, tmp_path):
    with web_server() as hub, prometheus(prometheus_binary, hub.removeprefix("http://"), tmp_path) as server:
        for _round in range(6):  # records arrive between scrapes, so rates have something to show
            # two minutes back: the providers' status reads whole minutes
            ingest(hub, ingest_key, records(15, offset_minutes=2))
            time.sleep(1.5)
        provider_statuses_refresh()  # what beat does every minute: the providers' status snapshot
        time.sleep(4)  # the last ingest scraped, past the hub's cache
        missing = []
        for title, expression in dashboard_expressions() + [("Higress", e) for e in HIGRESS_PROMQL]:
            if not query(server, expression):
                missing.append((title, expression))
        assert missing == []
        sums = token_sums()
        for kind in ("input", "output", "cache_read", "cache_creation"):
            result = query(server, f'sum(llm_hub_tokens_total{{type="{kind}"}})')
            assert float(result[0]["value"][1]) == sums[kind], kind
        prompt = sums["input"] + sums["cache_read"] + sums["cache_creation"]
        assert float(query(server, f"sum({HIGRESS}input_token)")[0]["value"][1]) == prompt
        assert float(query(server, f"sum({HIGRESS}total_token)")[0]["value"][1]) == prompt + sums["output"]
        usage = query(server, 'sum(gen_ai_client_token_usage_sum{gen_ai_token_type="output"})')
        assert float(usage[0]["value"][1]) == sums["output"]
