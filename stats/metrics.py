"""/metrics: the hub's usage as Prometheus metrics, read from the database at scrape time.

Every usage counter is a sum since the first request, read from ``usage.rollups.cumulative``
(the rollup hours added up, plus the raw rows of hours not rolled up yet) in one snapshot, so:
every web process answers the same numbers, a restart resets nothing, nothing is counted
twice, and retention never lowers a counter (rollups outlive the rows they sum). The text is
cached in Redis for ``METRICS["CACHE_SECONDS"]``, shared by all processes.

Three vocabularies over the same sums:

- hub-native (``llm_hub_*``), in Prometheus conventions;
- Higress's ai-statistics names and labels (``route_upstream_model_consumer_metric_*``, with
  ``ai_route`` = endpoint, ``ai_cluster`` = provider, ``ai_model`` = model, ``ai_consumer`` =
  user or ``none``), typed ``untyped`` as Higress's counters carry no ``_total``;
- OpenTelemetry GenAI semantic conventions in their Prometheus form (``gen_ai_client_*``).

Cardinality: models (and endpoints) beyond the top ``TOP_MODELS`` by requests fold into
``other``; per-user and per-key labels are off unless configured, and fold beyond their top N.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    UnknownMetricFamily,
)

from hub.models import ApiKey, TaskRun, User
from providers.models import Provider
from sessions_app.models import Session
from sessions_app.selectors import active_boundary
from usage.models import LATENCY_BOUNDS_MS, TOKEN_BOUNDS, TOKEN_HISTOGRAM_KINDS
from usage.rollups import cumulative

OTHER = "other"
NONE = "none"
HIGRESS = "route_upstream_model_consumer_metric_"
TOKEN_TYPES = {  # hub column -> label value (llm_hub_tokens_total{type}, gen_ai_token_type)
    "input_tokens": "input",
    "output_tokens": "output",
    "cache_creation_tokens": "cache_creation",
    "cache_read_tokens": "cache_read",
    "reasoning_tokens": "reasoning",
}
# [low, high) millisecond buckets of whole milliseconds: "d < high" is exactly "d <= (high - 1) ms".
_LATENCY_LE = [f"{(bound - 1) / 1000:g}" for bound in LATENCY_BOUNDS_MS] + ["+Inf"]
_TOKEN_LE = [str(bound) for bound in TOKEN_BOUNDS] + ["+Inf"]


def config() -> dict:
    return settings.METRICS


def _status_class(value: int) -> str:
    return f"{value}xx" if value else NONE


def _top(totals: dict, limit: int) -> set:
    """The ``limit`` keys with the most requests (ties broken by name, so the set is stable)."""
    ranked = sorted(totals.items(), key=lambda item: (-item[1], str(item[0])))
    return {name for name, _count in ranked[:limit]}


class _Labels:
    """Label values for ids and names, with everything beyond the top N folded into ``other``."""

    def __init__(self, rows: list[dict], options: dict) -> None:
        self.options = options
        by_model: dict[str, int] = defaultdict(int)
        by_endpoint: dict[str, int] = defaultdict(int)
        by_user: dict[int, int] = defaultdict(int)
        by_key: dict[int, int] = defaultdict(int)
        for row in rows:
            by_model[row["model"]] += row["requests"]
            if row["original_model"] and row["original_model"] != row["model"]:
                by_model[row["original_model"]] += row["requests"]
            by_endpoint[row["endpoint"]] += row["requests"]
            if options["PER_USER"]:
                by_user[row["user_id"]] += row["requests"]
            if options["PER_KEY"] and row["key_id"] is not None:
                by_key[row["key_id"]] += row["requests"]
        self.models = _top(by_model, options["TOP_MODELS"])
        self.endpoints = _top(by_endpoint, options["TOP_MODELS"])
        self.providers = dict(Provider.objects.values_list("pk", "name"))
        users = _top(by_user, options["TOP_USERS"])
        self.users = dict(User.objects.filter(pk__in=users).values_list("pk", "username")) if users else {}
        keys = _top(by_key, options["TOP_KEYS"])
        self.keys = dict(ApiKey.objects.filter(pk__in=keys).values_list("pk", "prefix")) if keys else {}

    def model(self, name: str) -> str:
        if not name:
            return NONE
        return name if name in self.models else OTHER

    def endpoint(self, name: str) -> str:
        if not name:
            return NONE
        return name if name in self.endpoints else OTHER

    def provider(self, provider_id: int | None) -> str:
        return self.providers.get(provider_id, NONE) if provider_id is not None else NONE

    def user(self, user_id: int) -> str:
        return self.users.get(user_id, OTHER)

    def key(self, key_id: int | None) -> str:
        return NONE if key_id is None else self.keys.get(key_id, OTHER)


def _add(target: dict, key: tuple, row: dict, names: Iterable[str]) -> None:
    sums = target.setdefault(key, defaultdict(int))
    for name in names:
        sums[name] += row[name] or 0


def _usage(rows: list[dict], labels: _Labels) -> Iterator:
    """Counters per (provider, model, endpoint, status class [, user] [, key]), hub-native and Higress."""
    options = labels.options
    extra_names = (["user"] if options["PER_USER"] else []) + (["key"] if options["PER_KEY"] else [])
    grouped: dict[tuple, dict] = {}
    higress: dict[tuple, dict] = {}
    for row in rows:
        extra = ((labels.user(row["user_id"]),) if options["PER_USER"] else ()) + (
            (labels.key(row["key_id"]),) if options["PER_KEY"] else ()
        )
        base = (labels.provider(row["provider_id"]), labels.model(row["model"]), labels.endpoint(row["endpoint"]))
        _add(grouped, (*base, _status_class(row["status_class"]), *extra), row, cumulative.SUMS)
        consumer = labels.user(row["user_id"]) if options["PER_USER"] else NONE
        _add(higress, (base[2], base[0], base[1], consumer), row, cumulative.SUMS)

    names = ["provider", "model", "endpoint", "status_class", *extra_names]
    requests = CounterMetricFamily("llm_hub_requests", "Requests recorded, by status class.", labels=names)
    errors = CounterMetricFamily(
        "llm_hub_request_errors", "Failed requests (status 400 or more, or an error message), by status class.",
        labels=names,
    )  # fmt: skip
    tokens = CounterMetricFamily(
        "llm_hub_tokens", "Tokens by type (reasoning is part of output; total = input + cache_creation + "
        "cache_read + output).", labels=[*names[:3], "type", *extra_names],
    )  # fmt: skip
    cost = CounterMetricFamily(
        "llm_hub_cost_usd", "Cost in US dollars of the requests that had a price.", labels=[*names[:3], *extra_names]
    )
    by_route: dict[tuple, dict] = {}
    for key, sums in grouped.items():
        requests.add_metric(list(key), sums["requests"])
        errors.add_metric(list(key), sums["errors"])
        route = (*key[:3], *key[4:])
        _add(by_route, route, sums, (*TOKEN_TYPES, "cost"))
    for route, sums in by_route.items():
        for column, kind in TOKEN_TYPES.items():
            tokens.add_metric([*route[:3], kind, *route[3:]], sums[column])
        cost.add_metric(list(route), float(sums["cost"]))
    yield from (requests, errors, tokens, cost)

    higress_labels = ["ai_route", "ai_cluster", "ai_model", "ai_consumer"]
    families = {
        "input_token": "Prompt tokens (input + cache creation + cache read), as Higress counts input_token.",
        "output_token": "Output tokens.",
        "total_token": "Prompt and output tokens.",
        "llm_service_duration": "Sum of request durations in milliseconds.",
        "llm_duration_count": "Requests with a duration.",
        "llm_first_token_duration": "Sum of times to first token in milliseconds.",
        "llm_stream_duration_count": "Requests with a time to first token (streams).",
    }
    made = {name: UnknownMetricFamily(HIGRESS + name, text, labels=higress_labels) for name, text in families.items()}
    for key, sums in higress.items():
        prompt = sums["input_tokens"] + sums["cache_creation_tokens"] + sums["cache_read_tokens"]
        values = {
            "input_token": prompt,
            "output_token": sums["output_tokens"],
            "total_token": prompt + sums["output_tokens"],
            "llm_service_duration": sums["duration_sum"],
            "llm_duration_count": sums["duration_count"],
            "llm_first_token_duration": sums["ttft_sum"],
            "llm_stream_duration_count": sums["ttft_count"],
        }
        for name, value in values.items():
            made[name].add_metric(list(key), value)
    yield from made.values()


def _buckets(counts: list[int], bounds: list[str]) -> list[tuple[str, int]]:
    running, out = 0, []
    for le, count in zip(bounds, counts, strict=True):
        running += count
        out.append((le, running))
    return out


def _histograms(rows: list[dict], histograms: list[dict], labels: _Labels) -> Iterator:
    """Duration, TTFT and token histograms, hub-native and OpenTelemetry GenAI."""
    sums: dict[tuple, dict] = {}
    for row in rows:
        key = (row["provider_id"], row["model"], row["original_model"], row["status_class"])
        _add(sums, key, row, ("duration_sum", "ttft_sum", *TOKEN_HISTOGRAM_KINDS))
    latency_length, token_length = len(LATENCY_BOUNDS_MS) + 1, len(TOKEN_BOUNDS) + 1
    native: dict[str, dict[tuple, list]] = {"duration": {}, "ttft": {}}
    genai: dict[str, dict[tuple, list]] = {"duration": {}, "ttft": {}}
    tokens: dict[tuple, list] = {}

    def add(target: dict, key: tuple, counts, total: float, length: int) -> None:
        found = target.setdefault(key, [[0] * length, 0.0])
        for index, count in enumerate(counts or [0] * length):
            found[0][index] += count
        found[1] += total

    for row in histograms:
        group = (row["provider_id"], row["model"], row["original_model"], row["status_class"])
        total = sums.get(group, defaultdict(int))
        provider, model = labels.provider(row["provider_id"]), labels.model(row["model"])
        request_model = labels.model(row["original_model"] or row["model"])
        error = [_status_class(row["status_class"])] if row["status_class"] in (4, 5) else [""]
        duration, ttft = total["duration_sum"] / 1000, total["ttft_sum"] / 1000
        add(native["duration"], (provider, model), row["latency_histogram"], duration, latency_length)
        add(native["ttft"], (provider, model), row["ttft_histogram"], ttft, latency_length)
        genai_key = (provider, request_model, model)
        add(genai["duration"], (*genai_key, *error), row["latency_histogram"], duration, latency_length)
        add(genai["ttft"], (*genai_key, *error), row["ttft_histogram"], ttft, latency_length)
        counts = row["token_histogram"] or [0] * (token_length * len(TOKEN_HISTOGRAM_KINDS))
        for index, kind in enumerate(TOKEN_HISTOGRAM_KINDS):
            part = counts[index * token_length : (index + 1) * token_length]
            add(tokens, (*genai_key, TOKEN_TYPES[kind]), part, total[kind], token_length)

    def family(kind, name: str, text: str, label_names: list[str], data: dict, bounds: list[str]):
        made = kind(name, text, labels=label_names)
        for key, (counts, total) in sorted(data.items()):
            # An empty error_type label is the same as none: successes carry no error_type.
            names = [n for n, v in zip(label_names, key, strict=True) if v != ""]
            values = [v for v in key if v != ""]
            made.samples.extend(_histogram_samples(name, names, values, _buckets(counts, bounds), total))
        return made

    yield family(
        HistogramMetricFamily, "llm_hub_request_duration_seconds", "Request duration (requests with one).",
        ["provider", "model"], native["duration"], _LATENCY_LE,
    )  # fmt: skip
    yield family(
        HistogramMetricFamily, "llm_hub_time_to_first_token_seconds", "Time to first token (requests with one).",
        ["provider", "model"], native["ttft"], _LATENCY_LE,
    )  # fmt: skip
    genai_labels = ["gen_ai_provider_name", "gen_ai_request_model", "gen_ai_response_model"]
    yield family(
        HistogramMetricFamily, "gen_ai_client_token_usage", "Tokens per request, by type (input is without the "
        "cache; cache_read and cache_creation beside it).", [*genai_labels, "gen_ai_token_type"], tokens, _TOKEN_LE,
    )  # fmt: skip
    yield family(
        HistogramMetricFamily, "gen_ai_client_operation_duration_seconds", "GenAI operation duration.",
        [*genai_labels, "error_type"], genai["duration"], _LATENCY_LE,
    )  # fmt: skip
    yield family(
        HistogramMetricFamily, "gen_ai_client_operation_time_to_first_chunk_seconds",
        "Time to the first chunk of a streamed answer.", [*genai_labels, "error_type"], genai["ttft"], _LATENCY_LE,
    )  # fmt: skip


def _histogram_samples(name: str, names: list[str], values: list[str], buckets, total: float) -> list:
    from prometheus_client.samples import Sample

    labels = dict(zip(names, values, strict=True))
    samples = [Sample(f"{name}_bucket", {**labels, "le": le}, count) for le, count in buckets]
    samples.append(Sample(f"{name}_count", labels, buckets[-1][1] if buckets else 0))
    samples.append(Sample(f"{name}_sum", labels, total))
    return samples


def _gauges(now: datetime) -> Iterator:
    sessions = GaugeMetricFamily("llm_hub_active_sessions", "Sessions with a request in the last 5 minutes.")
    sessions.add_metric([], Session.objects.filter(last_request_at__gte=active_boundary(now)).count())
    yield sessions
    with connection.cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM max(created_at)) FROM message_request WHERE deleted_at IS NULL")
        last = cursor.fetchone()[0]
    if last is not None:
        newest = GaugeMetricFamily("llm_hub_last_request_timestamp_seconds", "When the newest request was made.")
        newest.add_metric([], float(last))
        yield newest
    expiry = GaugeMetricFamily(
        "llm_hub_api_key_expiry_seconds", "Seconds until a usable key with an expiry date expires (the soonest).",
        labels=["key", "name", "owner"],
    )  # fmt: skip
    soonest = (
        ApiKey.objects.usable().filter(expires_at__isnull=False).select_related("owner").order_by("expires_at", "pk")
    )
    for key in soonest[: config()["TOP_KEYS"]]:
        expiry.add_metric([key.prefix, key.name, key.owner.username], (key.expires_at - now).total_seconds())
    yield expiry
    yield from _task_runs()


def _task_runs() -> Iterator:
    labels = ["task"]
    last = GaugeMetricFamily(
        "llm_hub_task_last_run_timestamp_seconds", "When a scheduled task last started.", labels=labels
    )
    success = GaugeMetricFamily(
        "llm_hub_task_last_success_timestamp_seconds", "When a scheduled task last succeeded.", labels=labels
    )
    duration = GaugeMetricFamily("llm_hub_task_last_duration_seconds", "How long its last run took.", labels=labels)
    ok = GaugeMetricFamily("llm_hub_task_last_ok", "1 if its last finished run succeeded, else 0.", labels=labels)
    runs = CounterMetricFamily("llm_hub_task_runs", "Runs started.", labels=labels)
    failures = CounterMetricFamily("llm_hub_task_failures", "Runs that failed.", labels=labels)
    for run in TaskRun.objects.all():
        last.add_metric([run.task], run.started_at.timestamp())
        if run.last_success_at:
            success.add_metric([run.task], run.last_success_at.timestamp())
        if run.duration_seconds is not None:
            duration.add_metric([run.task], run.duration_seconds)
        if run.outcome != TaskRun.Outcome.RUNNING:
            ok.add_metric([run.task], 1 if run.outcome == TaskRun.Outcome.OK else 0)
        runs.add_metric([run.task], run.runs)
        failures.add_metric([run.task], run.failures)
    yield from (last, success, duration, ok, runs, failures)


class _Snapshot:
    """The hub's metric families, read in one database snapshot."""

    def __init__(self, families: list) -> None:
        self.families = families

    def collect(self):
        return self.families


def collect(options: dict | None = None) -> list:
    """Every hub metric family, read in one REPEATABLE READ snapshot so sums and histograms agree."""
    options = options or config()
    started = time.perf_counter()
    now = timezone.now()
    group = ["provider_id", "model", "original_model", "endpoint", "status_class"]
    if options["PER_USER"]:
        group.append("user_id")
    if options["PER_KEY"]:
        group.append("key_id")
    outer = connection.in_atomic_block  # (tests: already in a transaction, its snapshot taken)
    with transaction.atomic(), connection.cursor() as cursor:
        if not outer:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        rows = cumulative.read(group_by=group)
        for row in rows:
            row.setdefault("user_id", None)
            row.setdefault("key_id", None)
        histograms = cumulative.read_histograms()
        labels = _Labels(rows, options)
        families = [*_usage(rows, labels), *_histograms(rows, histograms, labels), *_gauges(now)]
    scrape = GaugeMetricFamily(
        "llm_hub_metrics_collect_duration_seconds", "How long reading the hub's metrics from the database took."
    )
    scrape.add_metric([], time.perf_counter() - started)
    families.append(scrape)
    return families


def exposition(options: dict | None = None) -> bytes:
    """The hub's metrics in Prometheus's text format, cached for a few seconds across processes."""
    options = options or config()
    shape = {name: value for name, value in options.items() if name != "ALLOWED_IPS"}
    key = "metrics:v1:" + hashlib.sha256(repr(sorted(shape.items())).encode()).hexdigest()[:16]
    cached = cache.get(key) if options["CACHE_SECONDS"] else None
    if cached is not None:
        return cached
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(collect(options)))
    text = generate_latest(registry)
    if options["CACHE_SECONDS"]:
        cache.set(key, text, options["CACHE_SECONDS"])
    return text
