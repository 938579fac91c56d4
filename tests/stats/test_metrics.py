"""/metrics: counters equal the database, access is guarded, cardinality is capped, promtool agrees."""

import gzip
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from hub.models import SystemSettings
from providers.models import Provider
from usage import rollups
from usage.models import MessageRequest
from usage.retention import retention_apply

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent.parent
BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)


def parse(body: bytes) -> dict[str, list]:
    """metric family name -> its samples."""
    return {family.name: family.samples for family in text_string_to_metric_families(body.decode())}


def total(samples, name: str, **labels) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


@pytest.fixture
def metrics_key(admin_user, make_key):
    return make_key(admin_user, "prometheus", scope_ingest=False, scope_read=False, scope_metrics=True).secret


@pytest.fixture
def scrape(client, metrics_key, settings):
    settings.METRICS = {**settings.METRICS, "CACHE_SECONDS": 0}

    def get(**options) -> dict[str, list]:
        settings.METRICS = {**settings.METRICS, **options}
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_key}")
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(response.content)

    return get


@pytest.fixture
def traffic(alice, bob, make_request_row, long_retention):
    openai = Provider.objects.create(name="openai", type="openai")
    anthropic = Provider.objects.create(name="anthropic", type="anthropic")
    rows = [
        dict(user=alice, provider_id=openai.pk, model="gpt-4o", original_model="gpt-4o",
             endpoint="/v1/chat/completions", input_tokens=100, output_tokens=50, cache_read_tokens=30,
             reasoning_tokens=5, duration_ms=1200, ttft_ms=300, is_stream=True, cost=Decimal("0.0012")),
        dict(user=bob, provider_id=openai.pk, model="gpt-4o", original_model="gpt-4", endpoint="/v1/chat/completions",
             input_tokens=7, output_tokens=3, status_code=429, error_message="rate limited", duration_ms=40),
        dict(user=alice, provider_id=anthropic.pk, model="claude-sonnet-4-5", endpoint="/v1/messages",
             input_tokens=2000, output_tokens=700, cache_creation_tokens=1000, duration_ms=65_000, ttft_ms=49,
             is_stream=True, cost=Decimal("0.5")),
        dict(user=bob, provider_id=anthropic.pk, model="claude-haiku-4-5", endpoint="/v1/messages",
             input_tokens=1, output_tokens=1, status_code=500, duration_ms=50),
    ]  # fmt: skip
    for hours, row in enumerate(rows):
        make_request_row(created_at=BASE + timedelta(hours=hours, minutes=5), **row)
    return {"openai": openai, "anthropic": anthropic}


def database_sums(**filters) -> dict:
    return MessageRequest.objects.filter(**filters).aggregate(
        requests=Count("id"), input=Sum("input_tokens"), output=Sum("output_tokens"),
        cache_creation=Sum("cache_creation_tokens"), cache_read=Sum("cache_read_tokens"),
        reasoning=Sum("reasoning_tokens"), cost=Sum("cost"), duration=Sum("duration_ms"), ttft=Sum("ttft_ms"),
    )  # fmt: skip


def assert_equal_to_database(metrics: dict) -> None:
    db = database_sums()
    requests = metrics["llm_hub_requests"]
    assert total(requests, "llm_hub_requests_total") == db["requests"]
    tokens = metrics["llm_hub_tokens"]
    for kind in ("input", "output", "cache_creation", "cache_read", "reasoning"):
        assert total(tokens, "llm_hub_tokens_total", type=kind) == db[kind], kind
    assert total(metrics["llm_hub_cost_usd"], "llm_hub_cost_usd_total") == pytest.approx(float(db["cost"]))
    higress = "route_upstream_model_consumer_metric_"
    prompt = db["input"] + db["cache_creation"] + db["cache_read"]
    assert total(metrics[higress + "input_token"], higress + "input_token") == prompt
    assert total(metrics[higress + "output_token"], higress + "output_token") == db["output"]
    assert total(metrics[higress + "total_token"], higress + "total_token") == prompt + db["output"]
    assert total(metrics[higress + "llm_service_duration"], higress + "llm_service_duration") == db["duration"]
    assert total(metrics[higress + "llm_first_token_duration"], higress + "llm_first_token_duration") == db["ttft"]
    assert total(metrics[higress + "llm_stream_duration_count"], higress + "llm_stream_duration_count") == 2
    usage = metrics["gen_ai_client_token_usage"]
    assert total(usage, "gen_ai_client_token_usage_sum", gen_ai_token_type="input") == db["input"]
    assert total(usage, "gen_ai_client_token_usage_sum", gen_ai_token_type="cache_read") == db["cache_read"]
    assert total(usage, "gen_ai_client_token_usage_count", gen_ai_token_type="output") == db["requests"]
    duration = metrics["llm_hub_request_duration_seconds"]
    assert total(duration, "llm_hub_request_duration_seconds_sum") == pytest.approx(db["duration"] / 1000)
    assert total(duration, "llm_hub_request_duration_seconds_count") == db["requests"]


def test_counters_equal_the_database_whether_hours_are_rolled_up_or_not(traffic, scrape):
    assert_equal_to_database(scrape())  # every hour still dirty: read from raw rows
    rollups.rollup_dirty()
    metrics = scrape()
    assert_equal_to_database(metrics)
    errors = metrics["llm_hub_request_errors"]
    assert total(errors, "llm_hub_request_errors_total", status_class="4xx", provider="openai") == 1
    assert total(errors, "llm_hub_request_errors_total", status_class="5xx", provider="anthropic") == 1
    ttft = metrics["llm_hub_time_to_first_token_seconds"]
    # 49 ms is in the first bucket (under 50 ms), 300 ms is not under 0.299 s
    assert total(ttft, "llm_hub_time_to_first_token_seconds_bucket", le="0.049") == 1
    assert total(ttft, "llm_hub_time_to_first_token_seconds_bucket", le="0.299") == 1
    assert total(ttft, "llm_hub_time_to_first_token_seconds_bucket", le="0.499") == 2
    duration = metrics["gen_ai_client_operation_duration_seconds"]
    assert total(duration, "gen_ai_client_operation_duration_seconds_count", error_type="4xx",
                 gen_ai_request_model="gpt-4", gen_ai_response_model="gpt-4o") == 1  # fmt: skip
    tokens = metrics["gen_ai_client_token_usage"]
    # 2000 input tokens: over 1,024, at most 4,096
    assert total(tokens, "gen_ai_client_token_usage_bucket", gen_ai_token_type="input",
                 gen_ai_response_model="claude-sonnet-4-5", le="1024") == 0  # fmt: skip
    assert total(tokens, "gen_ai_client_token_usage_bucket", gen_ai_token_type="input",
                 gen_ai_response_model="claude-sonnet-4-5", le="4096") == 1  # fmt: skip


def test_higress_labels_map_endpoint_provider_and_model(traffic, scrape):
    samples = scrape()["route_upstream_model_consumer_metric_output_token"]
    labels = {tuple(sorted(s.labels.items())) for s in samples}
    assert (
        ("ai_cluster", "anthropic"), ("ai_consumer", "none"), ("ai_model", "claude-sonnet-4-5"),
        ("ai_route", "/v1/messages"),
    ) in labels  # fmt: skip


def test_counters_never_go_down_when_retention_purges(traffic, scrape):
    rollups.rollup_dirty()
    before = scrape()
    settings_row = SystemSettings.get()
    settings_row.log_retention_days = 1
    settings_row.save()
    purge = retention_apply(now=BASE + timedelta(days=1, hours=2, minutes=30))
    assert purge.deleted == 2
    after = scrape()
    for name in ("llm_hub_requests", "llm_hub_tokens", "route_upstream_model_consumer_metric_input_token"):
        assert sorted((s.name, sorted(s.labels.items()), s.value) for s in after[name]) == sorted(
            (s.name, sorted(s.labels.items()), s.value) for s in before[name]
        ), name


def test_per_user_labels_are_opt_in_and_fold_beyond_the_top_n(traffic, scrape, alice):
    assert all("user" not in s.labels for s in scrape()["llm_hub_requests"])
    metrics = scrape(PER_USER=True, TOP_USERS=1)
    users = {s.labels["user"] for s in metrics["llm_hub_requests"]}
    assert users == {"alice", "other"}  # alice and bob both sent two; "alice" sorts first
    consumers = {s.labels["ai_consumer"] for s in metrics["route_upstream_model_consumer_metric_input_token"]}
    assert consumers == {"alice", "other"}
    assert total(metrics["llm_hub_requests"], "llm_hub_requests_total") == 4


def test_models_beyond_the_top_n_fold_into_other_and_the_sums_stay(traffic, scrape, make_request_row, alice):
    for minute in range(3):
        make_request_row(user=alice, created_at=BASE + timedelta(minutes=minute), model="gpt-4o",
                         original_model="gpt-4o")  # fmt: skip
    metrics = scrape(TOP_MODELS=1)
    models = {s.labels["model"] for s in metrics["llm_hub_requests"]}
    assert models == {"gpt-4o", "other"}
    genai = {s.labels["gen_ai_request_model"] for s in metrics["gen_ai_client_token_usage"]}
    assert genai <= {"gpt-4o", "other"}
    assert_equal_to_database_counts(metrics)


def assert_equal_to_database_counts(metrics) -> None:
    assert total(metrics["llm_hub_requests"], "llm_hub_requests_total") == MessageRequest.objects.count()


def test_gauges_tell_the_newest_request_and_task_runs(traffic, scrape):
    from usage.tasks import partitions_ensure_ahead

    partitions_ensure_ahead()
    metrics = scrape()
    newest = MessageRequest.objects.order_by("-created_at").first().created_at.timestamp()
    assert metrics["llm_hub_last_request_timestamp_seconds"][0].value == pytest.approx(newest)
    task = "usage.tasks.partitions_ensure_ahead"
    assert total(metrics["llm_hub_task_last_ok"], "llm_hub_task_last_ok", task=task) == 1
    assert total(metrics["llm_hub_task_runs"], "llm_hub_task_runs_total", task=task) == 1


def test_provider_up_follows_the_status_snapshot(traffic, scrape):
    from django.utils import timezone

    from providers.models import ProviderState, ProviderStatus

    now = timezone.now()
    ProviderStatus.objects.create(provider=traffic["openai"], state=ProviderState.UP, since=now, computed_at=now)
    ProviderStatus.objects.create(provider=traffic["anthropic"], state=ProviderState.DOWN, since=now, computed_at=now)
    samples = {s.labels["provider"]: s.value for s in scrape()["llm_hub_provider_up"]}
    assert samples == {"openai": 1, "anthropic": 0}


def test_key_expiry_is_exposed_for_keys_that_expire(admin_user, make_key, scrape):
    make_key(admin_user, "ci", expires_at=datetime.now(UTC) + timedelta(days=2))
    samples = scrape()["llm_hub_api_key_expiry_seconds"]
    assert [s.labels["name"] for s in samples] == ["ci"]
    assert samples[0].value == pytest.approx(2 * 86400, abs=60)


# --- who may scrape ---------------------------------------------------------------------------


def test_no_credentials_answer_401(client, db):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_key_without_the_metrics_scope_is_refused(client, admin_user, make_key):
    key = make_key(admin_user, "reader").secret
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 403


def test_a_metrics_key_of_a_user_who_is_not_an_admin_is_refused(client, alice, make_key):
    key = make_key(alice, "mine", scope_metrics=True).secret
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 403


def test_an_unknown_or_disabled_key_is_401(client, admin_user, make_key):
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer uhk_nope").status_code == 401
    created = make_key(admin_user, "off", scope_metrics=True, enabled=False)
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {created.secret}").status_code == 401


def test_an_allowed_address_needs_no_key(client, db, settings):
    settings.METRICS = {**settings.METRICS, "ALLOWED_IPS": ["10.0.0.0/8", "localhost"]}
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200  # a host name, resolved
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.1").status_code == 401


def test_the_answer_is_cached_for_a_few_seconds_across_processes(traffic, client, metrics_key, settings,
                                                                 make_request_row, alice):  # fmt: skip
    settings.METRICS = {**settings.METRICS, "CACHE_SECONDS": 30}
    first = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_key}").content
    make_request_row(user=alice, created_at=BASE)
    again = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_key}").content
    hub_part = first.split(b"# HELP python_")[0]
    assert again.startswith(hub_part)


# --- the text built ahead --------------------------------------------------------------------


def test_while_someone_scrapes_the_worker_builds_the_text_and_a_scrape_reads_no_table(
    traffic, client, metrics_key, settings, make_request_row, alice
):
    from stats.tasks import metrics_build

    settings.METRICS = {**settings.METRICS, "CACHE_SECONDS": 5}
    assert metrics_build() is False  # nobody scraped yet: nothing built
    headers = {"HTTP_AUTHORIZATION": f"Bearer {metrics_key}", "HTTP_ACCEPT_ENCODING": "gzip"}
    before = total(parse(gzip.decompress(client.get("/metrics", **headers).content))["llm_hub_requests"],
                   "llm_hub_requests_total")  # fmt: skip
    make_request_row(user=alice, created_at=BASE)
    assert metrics_build() is True  # the scrape above asked for it
    with CaptureQueriesContext(connection) as queries:
        body = gzip.decompress(client.get("/metrics", **headers).content)
    assert not [q["sql"] for q in queries if "usage_total" in q["sql"] or "message_request" in q["sql"]]
    assert total(parse(body)["llm_hub_requests"], "llm_hub_requests_total") == before + 1


def test_a_scrape_builds_the_text_itself_when_the_stored_one_is_too_old(
    traffic, client, metrics_key, settings, make_request_row, alice
):
    from django.core.cache import cache

    from stats import metrics

    settings.METRICS = {**settings.METRICS, "CACHE_SECONDS": 5}
    options = metrics.config()
    stale_at, text = metrics.build(options)
    cache.set(metrics._key(options), (stale_at - 2 * 5 - 1, text), 60)  # as if the worker had stopped
    make_request_row(user=alice, created_at=BASE)
    body = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_key}").content
    assert total(parse(body)["llm_hub_requests"], "llm_hub_requests_total") == MessageRequest.objects.count()
    built = total(parse(body)["llm_hub_metrics_built_timestamp_seconds"], "llm_hub_metrics_built_timestamp_seconds")
    assert built > stale_at


def test_prometheus_gets_gzip_when_it_asks(traffic, client, metrics_key):
    plain = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_key}")
    packed = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_key}", HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    unpacked = gzip.decompress(packed.content)
    assert "llm_hub_requests" in parse(unpacked)

    def hub_lines(body: bytes) -> list[bytes]:
        hub = body.split(b"# HELP python_")[0].splitlines()
        return [line for line in hub if not line.startswith(b"llm_hub_metrics_collect_duration_seconds")]

    assert hub_lines(unpacked) == hub_lines(plain.content)


def test_django_prometheus_metrics_come_along(scrape, db):
    metrics = scrape()
    assert "django_http_requests_before_middlewares" in metrics
    assert any(name.startswith("django_db_") for name in metrics)


# --- promtool ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def promtool() -> str:
    if not shutil.which("promtool"):
        subprocess.run([ROOT / "tests" / "install-prometheus.sh"], check=True, timeout=600)
    return shutil.which("promtool")


def test_promtool_check_metrics_passes(traffic, scrape, client, metrics_key, promtool, settings):
    rollups.rollup_dirty()
    settings.METRICS = {**settings.METRICS, "PER_USER": True, "PER_KEY": True}
    body = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_key}").content
    checked = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
