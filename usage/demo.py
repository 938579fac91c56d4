"""Realistic, deterministic demo data: the same seed and end time give the same rows.

Users with keys, one provider of each type, traffic in multi-turn sessions across
the day's rhythm: streaming with time to first token, prompt caching that grows
with the conversation, redirected models, 4xx/5xx errors with messages, failovers
in the provider chain and requests blocked by a content filter. Rows are written with
COPY (``usage.bulk``), in chunks, so a million take well under two minutes.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q

from hub.models import ApiKey, SystemSettings, User
from hub.services import api_key_create
from providers.models import Provider
from providers.pricing import PriceBook, Tokens, billed_model
from usage import partitions
from usage.bulk import RequestRow
from usage.services import requests_store

USERS = [
    ("alice", "Alice Chen"),
    ("bob", "Bob Li"),
    ("carol", "Carol Wang"),
    ("dave", "Dave Zhang"),
    ("erin", "Erin Liu"),
    ("frank", "Frank Zhou"),
]
# name, type, base URL, multiplier
PROVIDERS = [
    ("anthropic-main", "claude", "https://api.anthropic.com", "1"),
    ("openai-main", "openai", "https://api.openai.com", "1"),
    ("gemini-main", "gemini", "https://generativelanguage.googleapis.com", "1"),
    ("qwen-dashscope", "qwen", "https://dashscope-intl.aliyuncs.com", "1"),
    ("deepseek-main", "deepseek", "https://api.deepseek.com", "1"),
    ("openrouter", "openai-compatible", "https://openrouter.ai/api", "1.05"),
    ("local-vllm", "other", "http://vllm.internal:8000", "0"),
]
# provider, model asked for, model that ran (redirect), endpoint, weight
ROUTES = [
    ("anthropic-main", "claude-sonnet-4-5", "claude-sonnet-4-5", "/v1/messages", 30),
    ("anthropic-main", "claude-sonnet-4", "claude-sonnet-4-5", "/v1/messages", 6),
    ("anthropic-main", "claude-opus-4-5", "claude-opus-4-5", "/v1/messages", 6),
    ("anthropic-main", "claude-haiku-4-5", "claude-haiku-4-5", "/v1/messages", 8),
    ("openai-main", "gpt-5", "gpt-5", "/v1/responses", 10),
    ("openai-main", "gpt-5-mini", "gpt-5-mini", "/v1/chat/completions", 8),
    ("openai-main", "gpt-4o", "gpt-4.1", "/v1/chat/completions", 3),
    (
        "gemini-main",
        "gemini-2.5-pro",
        "gemini-2.5-pro",
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
        6,
    ),
    (
        "gemini-main",
        "gemini-2.5-flash",
        "gemini-2.5-flash",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        5,
    ),
    ("qwen-dashscope", "qwen3-max", "qwen3-max", "/compatible-mode/v1/chat/completions", 4),
    ("qwen-dashscope", "qwen-plus", "qwen-plus", "/compatible-mode/v1/chat/completions", 3),
    ("deepseek-main", "deepseek-chat", "deepseek-chat", "/v1/chat/completions", 5),
    ("deepseek-main", "deepseek-reasoner", "deepseek-reasoner", "/v1/chat/completions", 3),
    ("openrouter", "qwen3-coder-plus", "qwen3-coder-plus", "/v1/chat/completions", 2),
    ("local-vllm", "llama-3.3-70b-instruct", "llama-3.3-70b-instruct", "/v1/chat/completions", 2),
]
USER_AGENTS = {
    "claude": ["claude-cli/2.0.14 (external, cli)", "Anthropic/Python 0.69.0"],
    "openai": ["OpenAI/Python 1.109.1", "codex_cli_rs/0.46.0"],
    "gemini": ["google-genai-sdk/1.41.0 gl-python/3.11.7", "GeminiCLI/0.9.0"],
    "other": ["OpenAI/JS 5.23.1", "python-httpx/0.28.1", "LangChain/0.3.27"],
}
ERRORS = [
    (429, "rate_limit_error: Number of request tokens has exceeded your per-minute rate limit"),
    (400, "invalid_request_error: prompt is too long: 212345 tokens > 200000 maximum"),
    (401, "authentication_error: invalid x-api-key"),
    (500, "api_error: Internal server error"),
    (502, "upstream connect error or disconnect/reset before headers"),
    (529, "overloaded_error: Overloaded"),
    (504, "Gateway timeout after 600000 ms"),
]
HOURLY_SHAPE = [2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 8, 10, 12, 12, 11, 9, 7, 6, 5, 4, 3, 2]


@dataclass
class World:
    users: list[User]
    keys: dict[int, list[ApiKey]]
    providers: dict[str, Provider]
    prices: PriceBook
    bill_original: bool  # SystemSettings.bill_original_model: redirected rows are billed as ingest bills them


def ensure_world() -> World:
    """The users, keys, providers and prices the demo rows refer to (created once)."""
    with transaction.atomic():
        users = []
        for username, display in USERS:
            user, created = User.objects.get_or_create(username=username, defaults={"display_name": display})
            if created:
                user.set_unusable_password()
                user.save()
            users.append(user)
        keys: dict[int, list[ApiKey]] = {}
        for user in users:
            owned = list(ApiKey.objects.filter(owner=user).order_by("pk"))
            for name in ("laptop", "ci")[len(owned) :]:
                owned.append(api_key_create(owner=user, name=f"{user.username}-{name}").key)
            keys[user.pk] = owned
        providers = {}
        for name, kind, url, multiplier in PROVIDERS:
            providers[name], _ = Provider.objects.get_or_create(
                name=name, defaults={"type": kind, "base_url": url, "cost_multiplier": Decimal(multiplier)}
            )
    return World(
        users=users, keys=keys, providers=providers, prices=PriceBook.load(),
        bill_original=SystemSettings.get().bill_original_model,
    )  # fmt: skip


def _pick_hour(rng: random.Random, start: datetime, days: int) -> datetime:
    """A moment in the window, denser in (Asia/Shanghai) working hours."""
    day = rng.randrange(days)
    local_hour = rng.choices(range(24), weights=HOURLY_SHAPE)[0]
    utc_hour = (local_hour - 8) % 24
    return start + timedelta(days=day, hours=utc_hour, seconds=rng.randrange(3600))


def generate_rows(world: World, *, rows: int, days: int, seed: int, end: datetime) -> Iterator[tuple]:
    rng = random.Random(seed)
    start = (end - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    route_weights = [route[4] for route in ROUTES]
    user_weights = [len(USERS) - i for i in range(len(world.users))]  # a few heavy users, a long tail
    namespace = uuid.UUID(int=seed)
    produced = 0
    session_number = 0
    while produced < rows:
        session_number += 1
        user = rng.choices(world.users, weights=user_weights)[0]
        key = rng.choice(world.keys[user.pk])
        provider_name, asked, ran, endpoint, _weight = rng.choices(ROUTES, weights=route_weights)[0]
        provider = world.providers[provider_name]
        kind = provider.type
        agents = USER_AGENTS.get(kind, USER_AGENTS["other"])
        user_agent = rng.choice(agents)
        turns = min(1 + int(rng.expovariate(1 / 5)), rows - produced, 40)
        session_id = f"sess_{uuid.uuid5(namespace, str(session_number)).hex[:20]}"
        moment = _pick_hour(rng, start, days)
        if moment >= end:
            moment = end - timedelta(seconds=rng.randrange(1, 3600))
        system_tokens = rng.randrange(800, 12000)
        context = system_tokens
        for turn in range(1, turns + 1):
            produced += 1
            is_stream = rng.random() < 0.75
            new_input = rng.randrange(20, 3000)
            output = int(rng.lognormvariate(5.5, 1.0)) + 1
            reasoning = int(output * rng.uniform(0.2, 0.6)) if ran in ("deepseek-reasoner", "gpt-5", "o3") else 0
            cache_creation = cache_5m = cache_1h = cache_read = 0
            if kind == "claude":
                if turn == 1:
                    cache_creation = context
                    if rng.random() < 0.2:
                        cache_1h = cache_creation
                    else:
                        cache_5m = cache_creation
                else:
                    cache_read = context
                input_tokens = new_input
            elif kind in ("openai", "deepseek", "gemini") and turn > 1 and context > 1024:
                cache_read = context // 128 * 128
                input_tokens = context - cache_read + new_input
            else:
                input_tokens = context + new_input
            context += new_input + output
            roll = rng.random()
            status, error, blocked_by, blocked_reason = 200, "", "", ""
            chain = [{"provider": provider_name, "status_code": 200}]
            if roll < 0.035:
                status, error = rng.choice(ERRORS)
                output = reasoning = 0
                chain[0]["status_code"] = status
            elif roll < 0.045:
                status, blocked_by, blocked_reason = (
                    400,
                    "sensitive_word",
                    "matched rule 'internal-codenames'",
                )
                error = "Request blocked by content filter"
                output = reasoning = 0
                input_tokens = cache_creation = cache_5m = cache_1h = cache_read = 0
                chain = []
            elif roll < 0.06:
                fallback = "openrouter" if provider_name != "openrouter" else "anthropic-main"
                chain = [
                    {"provider": fallback, "status_code": 502, "duration_ms": rng.randrange(200, 3000)},
                    {"provider": provider_name, "status_code": 200},
                ]
            duration = int(400 + output * rng.uniform(8, 40) + rng.expovariate(1 / 800))
            if error and status >= 500:
                duration = rng.randrange(1000, 60000)
            ttft = int(rng.uniform(250, 2500)) if is_stream and status == 200 else None
            if chain:
                chain[-1]["duration_ms"] = duration
            multiplier = provider.cost_multiplier
            billed = billed_model(model=ran, original_model=asked, bill_original=world.bill_original)
            if status >= 400:
                # A refused or failed request is not billed: 0 when the model has a price at all.
                priced = world.prices.has_price(billed, kind, moment)
                cost, breakdown = (Decimal(0) if priced else None), None
            else:
                result = world.prices.cost(
                    model=billed,
                    provider_type=kind,
                    multiplier=multiplier,
                    tokens=Tokens(
                        input=input_tokens,
                        output=output,
                        cache_creation=cache_creation,
                        cache_creation_5m=cache_5m,
                        cache_creation_1h=cache_1h,
                        cache_read=cache_read,
                    ),  # fmt: skip
                    at=moment,
                )
                cost, breakdown = result.amount, result.breakdown
            yield RequestRow(
                f"demo-{seed}-{produced}",
                moment,
                user.pk,
                key.pk,
                provider.pk,
                ran,
                asked,
                endpoint,
                status,
                is_stream,
                input_tokens,
                output,
                cache_creation,
                cache_5m,
                cache_1h,
                cache_read,
                reasoning,
                cost,
                breakdown,
                cost is None,
                multiplier,
                duration,
                ttft,
                session_id,
                chain or None,
                user_agent,
                turn * 2 - 1,
                blocked_by,
                blocked_reason,
                error,
                None,
            )
            moment += timedelta(milliseconds=duration + rng.randrange(3000, 90000))
            if moment >= end:
                break


def load(*, rows: int, days: int, seed: int, end: datetime | None = None, chunk: int = 100_000, progress=None) -> int:
    """Write ``rows`` demo requests over the ``days`` before ``end``; return how many were new."""
    end = end or datetime.now(UTC)
    world = ensure_world()
    partitions.ensure_for_range(end - timedelta(days=days + 1), end)
    stored = 0
    generator = generate_rows(world, rows=rows, days=days, seed=seed, end=end)
    last_used: dict[int, datetime] = {}
    while True:
        batch = [row for _, row in zip(range(chunk), generator, strict=False)]
        if not batch:
            break
        for row in batch:
            if row.key_id is not None and (row.key_id not in last_used or row.created_at > last_used[row.key_id]):
                last_used[row.key_id] = row.created_at
        stored += len(requests_store(batch))
        if progress:
            progress(stored)
    # The keys sent these requests: "last used" says so, as it would after real traffic.
    for key, moment in last_used.items():
        ApiKey.objects.filter(pk=key).filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=moment)).update(
            last_used_at=moment
        )
    # Autovacuum never analyses a partitioned parent: refresh the planner's statistics
    # after a bulk load so plans (and estimated counts) reflect the new rows.
    with connection.cursor() as cursor:
        cursor.execute('ANALYZE "message_request"')
    return stored
