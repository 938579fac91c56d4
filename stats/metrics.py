"""/metrics: the hub's usage as Prometheus metrics, read from the database at scrape time.

Every usage counter is a sum since the first request, read from ``usage.rollups.cumulative``
(the rollup hours added up, plus the raw rows of hours not rolled up yet) in one snapshot, so:
every web process answers the same numbers, a restart resets nothing, nothing is counted
twice, and retention never lowers a counter (rollups outlive the rows they sum).

A scrape costs a cache read, whatever the deployment's size. While anyone scrapes, a worker
builds the text every ``METRICS["CACHE_SECONDS"]`` (``stats.tasks.metrics_build``, on beat) and
stores it in Redis, shared by all web processes: the database pays one build per interval
however many Prometheus servers scrape, and nothing when none does. A scrape that finds no text
younger than two intervals (no worker running, Redis just back) builds it itself, so the
answer is never staler than that. ``llm_hub_metrics_built_timestamp_seconds`` says when the
text was built.

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

import gzip
import hashlib
import itertools
import math
import operator
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from hub.models import ApiKey, TaskRun, User
from providers.models import Provider, ProviderState, ProviderStatus
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
_LATENCY_LENGTH, _TOKEN_LENGTH = len(_LATENCY_LE), len(_TOKEN_LE)


def config() -> dict:
    return settings.METRICS


def _status_class(value: int) -> str:
    return f"{value}xx" if value else NONE


def _top(totals: dict, limit: int) -> set:
    """The ``limit`` keys with the most requests (ties broken by name, so the set is stable)."""
    ranked = sorted(totals.items(), key=lambda item: (-item[1], str(item[0])))
    return {name for name, _count in ranked[:limit]}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: Sequence[str], values: Sequence) -> str:
    """``name="value",…`` (without braces); empty values are left out (an absent label)."""
    return ",".join(f'{name}="{_escape(str(value))}"' for name, value in zip(names, values, strict=True) if value != "")


def _number(value) -> str:
    if isinstance(value, int):
        return str(value)
    value = float(value)
    return repr(value) if math.isfinite(value) else ("NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf"))


class _Text:
    """Prometheus' text format (0.0.4), written directly: a scrape writes tens of thousands of lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, text: str) -> None:
        self.lines.append(f"# HELP {name} {text}\n# TYPE {name} {kind}")

    def sample(self, name: str, labels: str, value) -> None:
        self.lines.append(f"{name}{{{labels}}} {_number(value)}" if labels else f"{name} {_number(value)}")

    def histogram(self, name: str, labels: str, counts: Sequence[int], bounds: Sequence[str], total: float) -> None:
        prefix = f'{name}_bucket{{{labels}{"," if labels else ""}le="'
        cumulative_counts = list(itertools.accumulate(counts))
        self.lines.extend(f'{prefix}{le}"}} {count}' for le, count in zip(bounds, cumulative_counts, strict=True))
        running = cumulative_counts[-1] if cumulative_counts else 0
        self.sample(f"{name}_count", labels, running)
        self.sample(f"{name}_sum", labels, total)

    def text(self) -> bytes:
        return ("\n".join(self.lines) + "\n").encode()


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
    sums = target.get(key)
    if sums is None:
        sums = target[key] = dict.fromkeys(names, 0)
    for name in names:
        sums[name] += row[name] or 0


_TOKEN_SUMS = (*TOKEN_TYPES, "cost")
_HIGRESS_SUMS = (*TOKEN_TYPES, "duration_sum", "duration_count", "ttft_sum", "ttft_count")
_HIGRESS = (
    ("input_token", "Prompt tokens (input + cache creation + cache read), as Higress counts input_token."),
    ("output_token", "Output tokens."),
    ("total_token", "Prompt and output tokens."),
    ("llm_service_duration", "Sum of request durations in milliseconds."),
    ("llm_duration_count", "Requests with a duration."),
    ("llm_first_token_duration", "Sum of times to first token in milliseconds."),
    ("llm_stream_duration_count", "Requests with a time to first token (streams)."),
)


def _usage(out: _Text, rows: list[dict], labels: _Labels) -> None:
    """Counters per (provider, model, endpoint, status class [, user] [, key]), hub-native and Higress."""
    options = labels.options
    extra_names = (["user"] if options["PER_USER"] else []) + (["key"] if options["PER_KEY"] else [])
    grouped: dict[tuple, dict] = {}
    routes: dict[tuple, dict] = {}
    higress: dict[tuple, dict] = {}
    for row in rows:
        extra = ((labels.user(row["user_id"]),) if options["PER_USER"] else ()) + (
            (labels.key(row["key_id"]),) if options["PER_KEY"] else ()
        )
        base = (labels.provider(row["provider_id"]), labels.model(row["model"]), labels.endpoint(row["endpoint"]))
        _add(grouped, (*base, _status_class(row["status_class"]), *extra), row, ("requests", "errors"))
        _add(routes, (*base, *extra), row, _TOKEN_SUMS)
        consumer = labels.user(row["user_id"]) if options["PER_USER"] else NONE
        _add(higress, (base[2], base[0], base[1], consumer), row, _HIGRESS_SUMS)

    names = ["provider", "model", "endpoint", "status_class", *extra_names]
    series = {key: _labels(names, key) for key in grouped}
    out.family("llm_hub_requests_total", "counter", "Requests recorded, by status class.")
    for key, sums in grouped.items():
        out.sample("llm_hub_requests_total", series[key], sums["requests"])
    out.family(
        "llm_hub_request_errors_total", "counter",
        "Failed requests (status 400 or more, or an error message), by status class.",
    )  # fmt: skip
    for key, sums in grouped.items():
        out.sample("llm_hub_request_errors_total", series[key], sums["errors"])
    route_names = ["provider", "model", "endpoint", *extra_names]
    out.family(
        "llm_hub_tokens_total", "counter",
        "Tokens by type (reasoning is part of output; total = input + cache_creation + cache_read + output).",
    )  # fmt: skip
    for key, sums in routes.items():
        for column, kind in TOKEN_TYPES.items():
            out.sample("llm_hub_tokens_total", _labels([*route_names, "type"], (*key, kind)), sums[column])
    out.family("llm_hub_cost_usd_total", "counter", "Cost in US dollars of the requests that had a price.")
    for key, sums in routes.items():
        out.sample("llm_hub_cost_usd_total", _labels(route_names, key), float(sums["cost"]))

    higress_labels = {key: _labels(("ai_route", "ai_cluster", "ai_model", "ai_consumer"), key) for key in higress}
    for name, text in _HIGRESS:
        out.family(HIGRESS + name, "untyped", text)
        for key, sums in higress.items():
            prompt = sums["input_tokens"] + sums["cache_creation_tokens"] + sums["cache_read_tokens"]
            value = {
                "input_token": prompt,
                "output_token": sums["output_tokens"],
                "total_token": prompt + sums["output_tokens"],
                "llm_service_duration": sums["duration_sum"],
                "llm_duration_count": sums["duration_count"],
                "llm_first_token_duration": sums["ttft_sum"],
                "llm_stream_duration_count": sums["ttft_count"],
            }[name]
            out.sample(HIGRESS + name, higress_labels[key], value)


def _histograms(out: _Text, routes: list[dict], labels: _Labels) -> None:
    """Duration, TTFT and token histograms, hub-native and OpenTelemetry GenAI."""
    native: dict[str, dict[tuple, list]] = {"duration": {}, "ttft": {}}
    genai: dict[str, dict[tuple, list]] = {"duration": {}, "ttft": {}}
    tokens: dict[tuple, list] = {}

    def add(target: dict, key: tuple, counts, total: float, length: int) -> None:
        found = target.get(key)
        if found is None:
            found = target[key] = [[0] * length, 0.0]
        if counts:
            found[0] = list(map(operator.add, found[0], counts))  # element-wise, in C
        found[1] += total

    for row in routes:
        provider, model = labels.provider(row["provider_id"]), labels.model(row["model"])
        request_model = labels.model(row["original_model"] or row["model"])
        error = _status_class(row["status_class"]) if row["status_class"] in (4, 5) else ""
        duration, ttft = row["duration_sum"] / 1000, row["ttft_sum"] / 1000
        add(native["duration"], (provider, model), row["latency_histogram"], duration, _LATENCY_LENGTH)
        add(native["ttft"], (provider, model), row["ttft_histogram"], ttft, _LATENCY_LENGTH)
        genai_key = (provider, request_model, model)
        add(genai["duration"], (*genai_key, error), row["latency_histogram"], duration, _LATENCY_LENGTH)
        add(genai["ttft"], (*genai_key, error), row["ttft_histogram"], ttft, _LATENCY_LENGTH)
        counts = row["token_histogram"]
        for index, kind in enumerate(TOKEN_HISTOGRAM_KINDS):
            part = counts[index * _TOKEN_LENGTH : (index + 1) * _TOKEN_LENGTH] if counts else None
            add(tokens, (*genai_key, TOKEN_TYPES[kind]), part, row[kind], _TOKEN_LENGTH)

    def family(name: str, text: str, names: Sequence[str], data: dict, bounds: Sequence[str]) -> None:
        out.family(name, "histogram", text)
        for key, (counts, total) in sorted(data.items()):
            out.histogram(name, _labels(names, key), counts, bounds, total)

    family("llm_hub_request_duration_seconds", "Request duration (requests with one).", ("provider", "model"),
           native["duration"], _LATENCY_LE)  # fmt: skip
    family("llm_hub_time_to_first_token_seconds", "Time to first token (requests with one).", ("provider", "model"),
           native["ttft"], _LATENCY_LE)  # fmt: skip
    genai_labels = ("gen_ai_provider_name", "gen_ai_request_model", "gen_ai_response_model")
    family("gen_ai_client_token_usage", "Tokens per request, by type (input is without the cache; cache_read and "
           "cache_creation beside it).", (*genai_labels, "gen_ai_token_type"), tokens, _TOKEN_LE)  # fmt: skip
    family("gen_ai_client_operation_duration_seconds", "GenAI operation duration.", (*genai_labels, "error_type"),
           genai["duration"], _LATENCY_LE)  # fmt: skip
    family("gen_ai_client_operation_time_to_first_chunk_seconds", "Time to the first chunk of a streamed answer.",
           (*genai_labels, "error_type"), genai["ttft"], _LATENCY_LE)  # fmt: skip


def _gauges(out: _Text, now: datetime, options: dict) -> None:
    out.family("llm_hub_active_sessions", "gauge", "Sessions with a request in the last 5 minutes.")
    out.sample("llm_hub_active_sessions", "", Session.objects.filter(last_request_at__gte=active_boundary(now)).count())
    with connection.cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM max(created_at)) FROM message_request WHERE deleted_at IS NULL")
        last = cursor.fetchone()[0]
    if last is not None:
        out.family("llm_hub_last_request_timestamp_seconds", "gauge", "When the newest request was made.")
        out.sample("llm_hub_last_request_timestamp_seconds", "", float(last))
    out.family(
        "llm_hub_api_key_expiry_seconds", "gauge",
        "Seconds until a usable key with an expiry date expires (the soonest ones).",
    )  # fmt: skip
    soonest = (
        ApiKey.objects.usable().filter(expires_at__isnull=False).select_related("owner").order_by("expires_at", "pk")
    )
    for key in soonest[: options["TOP_KEYS"]]:
        out.sample("llm_hub_api_key_expiry_seconds", _labels(("key", "name", "owner"),
                   (key.prefix, key.name, key.owner.username)), (key.expires_at - now).total_seconds())  # fmt: skip
    out.family("llm_hub_provider_up", "gauge", "1 if the provider's status is up, 0 if down (absent while unknown).")
    states = ProviderStatus.objects.exclude(state=ProviderState.UNKNOWN).values_list("provider__name", "state")
    for name, state in states.order_by("provider__name"):
        out.sample("llm_hub_provider_up", _labels(("provider",), (name,)), int(state == ProviderState.UP))
    _task_runs(out)


def _task_runs(out: _Text) -> None:
    runs = list(TaskRun.objects.all())
    families = (
        ("llm_hub_task_last_run_timestamp_seconds", "gauge", "When a scheduled task last started.",
         lambda run: run.started_at.timestamp()),
        ("llm_hub_task_last_success_timestamp_seconds", "gauge", "When a scheduled task last succeeded.",
         lambda run: run.last_success_at.timestamp() if run.last_success_at else None),
        ("llm_hub_task_last_duration_seconds", "gauge", "How long its last finished run took.",
         lambda run: run.duration_seconds),
        ("llm_hub_task_last_ok", "gauge", "1 if its last finished run succeeded, else 0.",
         lambda run: None if run.outcome == TaskRun.Outcome.RUNNING else int(run.outcome == TaskRun.Outcome.OK)),
        ("llm_hub_task_runs_total", "counter", "Runs started.", lambda run: run.runs),
        ("llm_hub_task_failures_total", "counter", "Runs that failed.", lambda run: run.failures),
    )  # fmt: skip
    for name, kind, text, value in families:
        out.family(name, kind, text)
        for run in runs:
            found = value(run)
            if found is not None:
                out.sample(name, _labels(("task",), (run.task,)), found)


def collect(options: dict | None = None) -> bytes:
    """The hub's metrics in Prometheus' text format, read in one REPEATABLE READ snapshot so that
    sums and histograms agree."""
    options = options or config()
    started = time.perf_counter()
    now = timezone.now()
    out = _Text()
    outer = connection.in_atomic_block  # (tests: already in a transaction, its snapshot taken)
    with transaction.atomic(), connection.cursor() as cursor:
        if not outer:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        routes = cumulative.read_routes()
        if options["PER_USER"] or options["PER_KEY"]:
            group = [*cumulative.ROUTE_GROUP] + (["user_id"] if options["PER_USER"] else [])
            rows = cumulative.read(group_by=group + (["key_id"] if options["PER_KEY"] else []))
        else:
            rows = routes
        for row in rows:
            row.setdefault("user_id", None)
            row.setdefault("key_id", None)
        labels = _Labels(rows, options)
        _usage(out, rows, labels)
        _histograms(out, routes, labels)
        _gauges(out, now, options)
    out.family(
        "llm_hub_metrics_collect_duration_seconds",
        "gauge",
        "How long reading the hub's metrics from the database took.",
    )
    out.sample("llm_hub_metrics_collect_duration_seconds", "", time.perf_counter() - started)
    out.family(
        "llm_hub_metrics_built_timestamp_seconds",
        "gauge",
        "When this text was read from the database (the scrape may serve it a few seconds later).",
    )
    out.sample("llm_hub_metrics_built_timestamp_seconds", "", time.time())
    return out.text()


# Set by each scrape; while it lives, the worker keeps the text built.
WANTED_KEY = "metrics:wanted"
WANTED_SECONDS = 120
STALE_INTERVALS = 2  # a stored text older than this many intervals is built again by the scrape


def _key(options: dict) -> str:
    shape = {name: value for name, value in options.items() if name != "ALLOWED_IPS"}
    return "metrics:v3:" + hashlib.sha256(repr(sorted(shape.items())).encode()).hexdigest()[:16]


def build(options: dict | None = None) -> tuple[float, bytes]:
    """Collect the text now and store it, gzip-compressed (Prometheus asks for gzip, and the text
    of a large deployment runs to megabytes), for every process; return (built at, gzip text)."""
    options = options or config()
    built = (time.time(), gzip.compress(collect(options), compresslevel=1))
    if options["CACHE_SECONDS"]:
        cache.set(_key(options), built, options["CACHE_SECONDS"] * STALE_INTERVALS)
    return built


def build_if_wanted() -> bool:
    """The worker's half: build the text when someone scraped in the last WANTED_SECONDS."""
    options = config()
    if not options["CACHE_SECONDS"] or cache.get(WANTED_KEY) is None:
        return False
    build(options)
    return True


def exposition(options: dict | None = None, *, compressed: bool = False) -> bytes:
    """The hub's metrics as a scrape gets them: the stored text when it is fresh enough, else
    built now (see the module's docstring)."""
    options = options or config()
    stored = None
    if options["CACHE_SECONDS"]:
        cache.set(WANTED_KEY, 1, WANTED_SECONDS)
        stored = cache.get(_key(options))
    if stored is None or time.time() - stored[0] > options["CACHE_SECONDS"] * STALE_INTERVALS:
        stored = build(options)
    text = stored[1]
    return text if compressed else gzip.decompress(text)
