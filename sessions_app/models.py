from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.visibility import VisibleQuerySet
from usage.definitions import TOKEN_KINDS, ratio


class SessionQuerySet(VisibleQuerySet):
    owner_field = "user"


class Session(models.Model):
    """One agent or chat session of one user, kept current as its requests arrive.

    Written only by ``sessions_app.services`` from ``usage.signals.requests_stored``, inside the
    transaction that stores the requests, so its totals always equal the sums over its rows. A
    session id is the sender's; the same id sent by two users is two sessions (the unique key
    includes the user, which is also what a table distributed by user needs)."""

    # No index of their own: the composite (user, last_request_at, id) and (key, last_request_at)
    # ones below serve every lookup by user or key, and each index is one more write per upsert.
    FK = {"on_delete": models.DO_NOTHING, "related_name": "+", "db_constraint": False, "db_index": False}

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), **FK)
    session_id = models.CharField(_("session"), max_length=128)
    key = models.ForeignKey("hub.ApiKey", verbose_name=_("key"), null=True, **FK)
    api_type = models.CharField(_("API type"), max_length=16, default="other")
    first_request_at = models.DateTimeField(_("started"))
    last_request_at = models.DateTimeField(_("last activity"))
    requests = models.BigIntegerField(_("requests"), default=0)
    errors = models.BigIntegerField(_("errors"), default=0)
    streams = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(_("input tokens"), default=0)
    output_tokens = models.BigIntegerField(_("output tokens"), default=0)
    cache_creation_tokens = models.BigIntegerField(_("cache write tokens"), default=0)
    cache_read_tokens = models.BigIntegerField(_("cache read tokens"), default=0)
    reasoning_tokens = models.BigIntegerField(_("reasoning tokens"), default=0)
    cost = models.DecimalField(_("cost (USD)"), max_digits=28, decimal_places=10, null=True)
    priced = models.BigIntegerField(default=0, help_text="requests with a cost")
    duration_sum = models.BigIntegerField(default=0)
    duration_count = models.BigIntegerField(default=0)
    ttft_sum = models.BigIntegerField(default=0)
    ttft_count = models.BigIntegerField(default=0)
    provider_ids = ArrayField(models.IntegerField(), default=list)
    model_names = ArrayField(models.CharField(max_length=128), default=list)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SessionQuerySet.as_manager()

    class Meta:
        db_table = "sessions_app_session"
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        constraints = [models.UniqueConstraint(fields=["user", "session_id"], name="session_per_user")]
        # Lists are "latest activity first", for everyone or within one user or key.
        indexes = [
            models.Index(fields=["last_request_at", "id"], name="session_last"),
            models.Index(fields=["user", "last_request_at", "id"], name="session_user_last"),
            models.Index(fields=["key", "last_request_at"], name="session_key_last"),
            GinIndex(fields=["provider_ids"], name="session_providers"),
            GinIndex(fields=["model_names"], name="session_models"),
        ]

    def __str__(self) -> str:
        return self.session_id

    @property
    def total_tokens(self) -> int:
        return sum(getattr(self, name) for name in TOKEN_KINDS)

    @property
    def duration(self):
        return self.last_request_at - self.first_request_at

    @property
    def avg_duration_ms(self) -> float | None:
        return ratio(self.duration_sum, self.duration_count)

    @property
    def avg_ttft_ms(self) -> float | None:
        return ratio(self.ttft_sum, self.ttft_count)


class ConversationSweep(models.Model):
    """How far stored conversations have been removed: every request created before
    ``swept_before`` has no question, answer, tool calls or reasoning left. One row."""

    swept_before = models.DateTimeField(null=True)
    swept_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "sessions_app_conversation_sweep"

    def __str__(self) -> str:
        return f"swept before {self.swept_before}"
