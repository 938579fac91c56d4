from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.visibility import VisibleQuerySet
from usage.definitions import ERROR, INCOMPLETE, TOKEN_KINDS, ZERO_TOKENS, is_error


class MessageRequestQuerySet(VisibleQuerySet):
    owner_field = "user"

    def live(self) -> MessageRequestQuerySet:
        return self.filter(deleted_at__isnull=True)


class MessageRequest(models.Model):
    """One request sent to an LLM API, as the hub recorded it.

    The table is range-partitioned by month on ``created_at`` (DESIGN decision 8),
    so the database's primary key is (id, created_at); ``id`` alone is unique in
    practice (one identity sequence) and is what pages and the API link to.
    Idempotency keys on the owner's (request_id, created_at): see ``usage/partitions.py``.
    """

    # Foreign keys do nothing on delete: users, keys and providers with history are
    # disabled, never deleted (the admin refuses), so no cascade walks this table.
    # Their indexes are the composite (fk, created_at) ones in migration 0002.
    FK = {"on_delete": models.DO_NOTHING, "related_name": "+", "db_index": False}

    id = models.BigAutoField(primary_key=True)
    request_id = models.CharField(_("request id"), max_length=128)
    created_at = models.DateTimeField(_("time"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), **FK)
    key = models.ForeignKey("hub.ApiKey", verbose_name=_("key"), null=True, blank=True, **FK)
    provider = models.ForeignKey("providers.Provider", verbose_name=_("provider"), null=True, blank=True, **FK)
    model = models.CharField(_("model"), max_length=128, blank=True)
    original_model = models.CharField(
        _("original model"),
        max_length=128,
        blank=True,
        help_text=_("What the client asked for, before a redirect."),
    )
    endpoint = models.CharField(_("endpoint"), max_length=255, blank=True)
    status_code = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    is_stream = models.BooleanField(_("streamed"), default=False)
    input_tokens = models.PositiveIntegerField(_("input tokens"), default=0)
    output_tokens = models.PositiveIntegerField(_("output tokens"), default=0)
    cache_creation_tokens = models.PositiveIntegerField(_("cache write tokens"), default=0)
    cache_creation_5m_tokens = models.PositiveIntegerField(_("5-minute cache write tokens"), default=0)
    cache_creation_1h_tokens = models.PositiveIntegerField(_("1-hour cache write tokens"), default=0)
    cache_read_tokens = models.PositiveIntegerField(_("cache read tokens"), default=0)
    reasoning_tokens = models.PositiveIntegerField(_("reasoning tokens"), default=0)
    cost = models.DecimalField(
        _("cost (USD)"), max_digits=18, decimal_places=10, null=True, blank=True,
        help_text=_("Empty when the model has no price: never a guessed 0."),
    )  # fmt: skip
    cost_breakdown = models.JSONField(
        _("cost breakdown"), null=True, blank=True,
        help_text=_("Each token kind with its price and cost, so a disputed cost is explained by the row alone."),
    )  # fmt: skip
    price_missing = models.BooleanField(
        _("no price"), default=False, help_text=_("The billed model had no price when the request was stored.")
    )
    cost_multiplier = models.DecimalField(_("cost multiplier"), max_digits=8, decimal_places=4, default=Decimal("1"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    ttft_ms = models.PositiveIntegerField(_("time to first token (ms)"), null=True, blank=True)
    session_id = models.CharField(_("session"), max_length=128, blank=True)
    provider_chain = models.JSONField(_("provider chain"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    messages_count = models.PositiveIntegerField(_("messages"), null=True, blank=True)
    blocked_by = models.CharField(_("blocked by"), max_length=64, blank=True)
    blocked_reason = models.TextField(_("block reason"), blank=True)
    error_message = models.TextField(_("error"), blank=True)
    attributes = models.JSONField(_("attributes"), null=True, blank=True)
    # Last of the written columns: usage.bulk.RequestRow follows this order, and positional
    # rows written before the column existed (the demo data's) stay correct.
    incomplete = models.BooleanField(
        _("incomplete"), default=False, db_default=False,
        help_text=_("A stream that ended before its final usage event: tokens as far as known."),
    )  # fmt: skip
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    objects = MessageRequestQuerySet.as_manager()

    class Meta:
        db_table = "message_request"
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Idempotent ingest, per owner: see usage/partitions.py for why these three.
            models.UniqueConstraint(fields=["user", "request_id", "created_at"], name="mr_owner_request_unique"),
        ]
        # Every list is "newest first within some filter": each index ends with the
        # time so a page reads only the rows it shows, in order, in the months it covers.
        indexes = [
            models.Index(fields=["created_at", "id"], name="mr_created"),
            models.Index(fields=["user", "created_at", "id"], name="mr_user_created"),
            models.Index(fields=["key", "created_at", "id"], name="mr_key_created"),
            models.Index(fields=["provider", "created_at", "id"], name="mr_provider_created"),
            models.Index(fields=["model", "created_at"], name="mr_model_created"),
            models.Index(fields=["status_code", "created_at"], name="mr_status_created"),
            models.Index(
                fields=["session_id", "created_at"],
                name="mr_session_created",
                condition=~models.Q(session_id=""),
            ),
            models.Index(fields=["endpoint", "created_at"], name="mr_endpoint_created"),
            # "Errors only": a small slice of the table, read newest first.
            models.Index(
                fields=["created_at", "id"],
                name="mr_errors_created",
                condition=ERROR,
            ),
            # "Incomplete streams": rare rows, found without walking the window.
            models.Index(fields=["created_at", "id"], name="mr_incomplete_created", condition=INCOMPLETE),
            # "Successful with zero tokens": rare rows, found without walking the window.
            models.Index(
                fields=["created_at", "id"],
                name="mr_zero_tokens_created",
                condition=ZERO_TOKENS,
            ),
            # "No price": the rows an admin must price (then re-price), found without walking the window.
            models.Index(
                fields=["created_at", "id"], name="mr_no_price_created", condition=models.Q(price_missing=True)
            ),
        ]

    def __str__(self) -> str:
        return self.request_id

    @property
    def total_tokens(self) -> int:
        return sum(getattr(self, name) for name in TOKEN_KINDS)

    @property
    def is_error(self) -> bool:
        return is_error(self.status_code, self.error_message)

    @property
    def is_redirected(self) -> bool:
        return bool(self.original_model) and self.original_model != self.model


# Upper bounds (ms) of the latency histogram's buckets; the last one is open-ended.
LATENCY_BOUNDS_MS = (
    50, 100, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000,
    60_000, 120_000, 300_000,
)  # fmt: skip
# Upper bounds (inclusive) of the per-request token-count histogram: OpenTelemetry's advice for
# gen_ai.client.token.usage. One histogram per kind, in TOKEN_HISTOGRAM_KINDS order, concatenated.
TOKEN_BOUNDS = (
    1, 4, 16, 64, 256, 1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864,
)  # fmt: skip
TOKEN_HISTOGRAM_KINDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


class RollupSums(models.Model):
    """What both rollup levels share: the hour, the user and provider they sum for, and the
    sums (usage.rollups.SUM_FIELDS). Read through ``visible_to`` like the raw rows."""

    hour = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.DO_NOTHING, null=True, related_name="+", db_constraint=False
    )
    requests = models.BigIntegerField()
    errors = models.BigIntegerField()
    streams = models.BigIntegerField()
    input_tokens = models.BigIntegerField()
    output_tokens = models.BigIntegerField()
    cache_creation_tokens = models.BigIntegerField()
    cache_read_tokens = models.BigIntegerField()
    reasoning_tokens = models.BigIntegerField()
    cost = models.DecimalField(max_digits=28, decimal_places=10, null=True)
    priced = models.BigIntegerField(help_text="requests with a cost")
    zero_token_successes = models.BigIntegerField(default=0, help_text="successful requests that reported no tokens")
    duration_sum = models.BigIntegerField()
    duration_count = models.BigIntegerField()
    ttft_sum = models.BigIntegerField()
    ttft_count = models.BigIntegerField()

    objects = VisibleQuerySet.as_manager()

    class Meta:
        abstract = True


class UsageHourly(RollupSums):
    """Requests of one UTC hour summed per (user, key, provider, model, original model,
    endpoint, status class). Rewritten whole from raw rows by ``usage.rollups``."""

    key = models.ForeignKey("hub.ApiKey", on_delete=models.DO_NOTHING, null=True, related_name="+", db_constraint=False)
    model = models.CharField(max_length=128)
    original_model = models.CharField(max_length=128)
    endpoint = models.CharField(max_length=255)
    status_class = models.PositiveSmallIntegerField(help_text="status_code // 100; 0 when none was recorded")
    latency_histogram = ArrayField(models.BigIntegerField(), help_text="request counts per LATENCY_BOUNDS_MS bucket")
    ttft_histogram = ArrayField(
        models.BigIntegerField(), null=True, help_text="request counts per LATENCY_BOUNDS_MS bucket of TTFT"
    )
    token_histogram = ArrayField(
        models.BigIntegerField(), null=True,
        help_text="request counts per TOKEN_BOUNDS bucket (inclusive), for each of TOKEN_HISTOGRAM_KINDS in turn",
    )  # fmt: skip

    class Meta:
        db_table = "usage_hourly"
        indexes = [
            models.Index(fields=["hour"], name="uh_hour"),
            models.Index(fields=["user", "hour"], name="uh_user_hour"),
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.model} ×{self.requests}"


class UsageHourlyBrief(RollupSums):
    """The same sums per (hour, user, provider, original model, model) only: a few dozen rows an
    hour instead of hundreds, for the dashboard, leaderboards and token statistics. Derived from
    ``UsageHourly`` in the same transaction as it."""

    original_model = models.CharField(max_length=128)
    model = models.CharField(max_length=128)

    class Meta:
        db_table = "usage_hourly_brief"
        indexes = [
            models.Index(fields=["hour"], name="uhb_hour"),
            models.Index(fields=["user", "hour"], name="uhb_user_hour"),
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.original_model} ×{self.requests}"


class RollupState(models.Model):
    """One unit of time's rollup state (an hour, a minute). Writers bump ``version`` (and set
    ``dirty``) in the same transaction as their rows (``usage.rollups.marks``); a recompute
    clears ``dirty`` only if the version it read is still current, so rows that land during a
    recompute are never lost. Subclasses name the unit: their primary key and ``unit``."""

    unit: ClassVar[timedelta]

    dirty = models.BooleanField(default=True)
    version = models.BigIntegerField(default=1)
    rolled_at = models.DateTimeField(null=True)

    class Meta:
        abstract = True


class RollupHour(RollupState):
    """One UTC hour's rollup state (``usage.rollups.compute``)."""

    unit = timedelta(hours=1)
    hour = models.DateTimeField(primary_key=True)
    #: how long its last recompute took: a costly hour that keeps being written rests longer
    took = models.DurationField(null=True)

    class Meta:
        db_table = "usage_rollup_hour"
        indexes = [models.Index(fields=["hour"], name="urh_dirty", condition=models.Q(dirty=True))]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {'dirty' if self.dirty else 'clean'}"


class LatencyHistograms(models.Model):
    """Sums and sparse latency histograms (``usage.rollups.latency``) that both minute-level
    tables share: the buckets holding requests, ascending, and how many each holds."""

    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    requests = models.BigIntegerField()
    duration_sum = models.BigIntegerField()
    duration_count = models.BigIntegerField()
    ttft_sum = models.BigIntegerField()
    ttft_count = models.BigIntegerField()
    duration_buckets = ArrayField(models.SmallIntegerField())
    duration_counts = ArrayField(models.BigIntegerField())
    ttft_buckets = ArrayField(models.SmallIntegerField())
    ttft_counts = ArrayField(models.BigIntegerField())

    class Meta:
        abstract = True


class UsageMinute(LatencyHistograms):
    """Requests of one UTC minute per (provider, model that ran, status, error kind), for the
    providers' availability. Rewritten from raw rows by ``usage.rollups.minutes``; kept only
    for the longest availability window plus a margin (the hourly rollups keep the history)."""

    minute = models.DateTimeField()
    model = models.CharField(max_length=128)
    status_code = models.PositiveSmallIntegerField(help_text="0 when no status was recorded")
    error_kind = models.CharField(
        max_length=16, blank=True, help_text="usage.definitions.error_kind when no status was recorded"
    )

    class Meta:
        db_table = "usage_minute"
        indexes = [models.Index(fields=["minute"], name="um_minute")]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.model} {self.status_code} ×{self.requests}"


class UsageHealth(LatencyHistograms):
    """``UsageMinute`` summed per provider over buckets of 1, 5, 15 and 60 minutes (``span``),
    the buckets the availability windows chart: a window reads about a hundred rows per
    provider whatever its length; and per UTC day (from the day's hours), so a window's
    merged histogram reads a few rows per provider. Derived in the recompute's transaction."""

    start = models.DateTimeField()
    span = models.PositiveSmallIntegerField(help_text="minutes: 1, 5, 15, 60, or 1440 (a UTC day)")
    successes = models.BigIntegerField()
    statuses = models.JSONField(help_text='requests per status: {"200": 9, "529": 1, "0:timeout": 2}')
    duration_p95 = models.FloatField(null=True, help_text="from the histogram, stored for the charts")

    class Meta:
        db_table = "usage_health"
        indexes = [models.Index(fields=["span", "start", "provider"], name="uhe_span_start")]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} /{self.span} ×{self.requests}"


class RollupMinute(RollupState):
    """One UTC minute's state for the minute rollups (``usage.rollups.minutes``)."""

    unit = timedelta(minutes=1)
    minute = models.DateTimeField(primary_key=True)

    class Meta:
        db_table = "usage_rollup_minute"
        indexes = [models.Index(fields=["minute"], name="urm_dirty", condition=models.Q(dirty=True))]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {'dirty' if self.dirty else 'clean'}"


class CumulativeSums(models.Model):
    """What both cumulative tables hold for a route (provider, model, original model, endpoint,
    status class): its sums since the first request (``usage.rollups.cumulative``)."""

    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.DO_NOTHING, null=True, related_name="+", db_constraint=False
    )
    model = models.CharField(max_length=128)
    original_model = models.CharField(max_length=128)
    endpoint = models.CharField(max_length=255)
    status_class = models.PositiveSmallIntegerField()
    requests = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    streams = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cache_creation_tokens = models.BigIntegerField(default=0)
    cache_read_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    cost = models.DecimalField(max_digits=28, decimal_places=10, default=0)
    priced = models.BigIntegerField(default=0)
    zero_token_successes = models.BigIntegerField(default=0)
    duration_sum = models.BigIntegerField(default=0)
    duration_count = models.BigIntegerField(default=0)
    ttft_sum = models.BigIntegerField(default=0)
    ttft_count = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class UsageTotal(CumulativeSums):
    """The sums of every rollup hour so far, per (user, key, provider, model, original model,
    endpoint, status class): what /metrics' counters read, in one small table instead of every
    hour. Kept by ``usage.rollups.cumulative`` in the transaction that rewrites an hour (its old
    rows subtracted, its new ones added). Rollups outlive retention, so these never go down."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    key = models.ForeignKey("hub.ApiKey", on_delete=models.DO_NOTHING, null=True, related_name="+", db_constraint=False)

    class Meta:
        db_table = "usage_total"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key", "provider", "model", "original_model", "endpoint", "status_class"],
                name="usage_total_group", nulls_distinct=False,
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.model} ×{self.requests}"


class UsageTotalRoute(CumulativeSums):
    """The same sums per (provider, model, original model, endpoint, status class) only, with the
    histograms: a few hundred rows, all a default scrape of /metrics reads. Kept with ``UsageTotal``."""

    latency_histogram = ArrayField(models.BigIntegerField(), null=True)
    ttft_histogram = ArrayField(models.BigIntegerField(), null=True)
    token_histogram = ArrayField(models.BigIntegerField(), null=True)

    class Meta:
        db_table = "usage_total_route"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "model", "original_model", "endpoint", "status_class"],
                name="usage_total_route_group", nulls_distinct=False,
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.model} {self.endpoint} ({self.status_class}xx)"


class RetentionState(models.Model):
    """How far retention has purged (one row): every request created before ``purged_before`` is
    gone, and the rollups of those hours are final (a recompute would find no rows and zero
    them, lowering counters that must never go down)."""

    purged_before = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "usage_retention_state"

    def __str__(self) -> str:
        return f"purged before {self.purged_before}"
