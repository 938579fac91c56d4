from __future__ import annotations

import hashlib
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager

from asgiref.local import Local
from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.visibility import VisibleQuerySet


class UserQuerySet(VisibleQuerySet):
    owner_field = "pk"


class HubUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Admin")
        USER = "user", _("User")

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.USER)
    display_name = models.CharField(_("display name"), max_length=150, blank=True)

    objects = HubUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    def save(self, *args, **kwargs) -> None:
        # The role is the one source of truth; Django admin's flags follow it.
        self.is_staff = self.is_superuser = self.is_admin
        super().save(*args, **kwargs)


KEY_PREFIX = "uhk_"


def hash_key_secret(secret: str) -> str:
    """SHA-256 of the whole key. Keys are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyQuerySet(VisibleQuerySet):
    owner_field = "owner"

    def usable(self) -> ApiKeyQuerySet:
        now = timezone.now()
        return self.filter(enabled=True, owner__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """A key a client or gateway uses. Only its hash is stored; the secret is shown once."""

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("owner")
    )
    prefix = models.CharField(
        _("prefix"), max_length=16, unique=True, editable=False,
        help_text=_("The first characters of the key, shown in lists to recognise it."),
    )  # fmt: skip
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    scope_ingest = models.BooleanField(_("may push records (ingest)"), default=True)
    scope_read = models.BooleanField(_("may read logs and statistics (read)"), default=True)
    scope_metrics = models.BooleanField(
        _("may be scraped for metrics (metrics)"), default=False,
        help_text=_("Lets Prometheus read /metrics with this key; only a key owned by an admin is accepted."),
    )  # fmt: skip
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="apikey_owner_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def scopes(self) -> list[str]:
        switches = (("ingest", self.scope_ingest), ("read", self.scope_read), ("metrics", self.scope_metrics))
        return [name for name, on in switches if on]

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.enabled and not self.is_expired and self.owner.is_active

    def clean(self) -> None:
        if not (self.scope_ingest or self.scope_read or self.scope_metrics):
            raise ValidationError(_("A key needs at least one scope."))


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("%(value)s is not a known time zone (e.g. Asia/Shanghai, UTC)."), params={"value": value}
        )


# The settings row a request read first (SystemSettings.for_request); per thread and per task.
_request_settings = Local()


class SystemSettings(models.Model):
    """The hub's runtime settings: one row, edited in the admin."""

    CACHE_KEY = "system-settings:v1"

    timezone = models.CharField(
        _("time zone"), max_length=64, validators=[validate_timezone],
        help_text=_("Times are stored in UTC and shown, and days counted, in this zone."),
    )  # fmt: skip
    allow_global_usage_view = models.BooleanField(
        _("users may see everyone's usage"), default=False,
        help_text=_("Lets users open the leaderboard with everyone's figures, not only their own."),
    )  # fmt: skip
    store_session_messages = models.BooleanField(
        _("store messages"),
        help_text=_(
            "Keep the question, answer, tool calls and reasoning of each request (token counts are always kept)."
        ),
    )  # fmt: skip
    session_messages_days = models.PositiveIntegerField(
        _("keep messages for (days)"), default=7, validators=[MinValueValidator(1)],
        help_text=_("Stored questions, answers, tool calls and reasoning are removed after this many days: prompts "
                    "are the most sensitive data the hub holds. Shorter than the log retention."),
    )  # fmt: skip
    log_retention_days = models.PositiveIntegerField(
        _("keep request logs for (days)"), help_text=_("Older months are dropped whole.")
    )
    bill_original_model = models.BooleanField(
        _("bill the original model"), default=False,
        help_text=_("When a model is redirected, price the model the client asked for instead of the one that ran."),
    )  # fmt: skip
    session_header = models.CharField(
        _("session header"), max_length=64, blank=True,
        help_text=_("A request header that carries the session id, tried before the built-in ones."),
    )  # fmt: skip
    attribute_max_length = models.PositiveIntegerField(
        _("attribute length limit"), default=4000,
        help_text=_("Stored question, answer, tool calls and reasoning are cut to this many characters."),
    )  # fmt: skip
    ingest_rate_per_minute = models.PositiveIntegerField(
        _("ingest calls per key per minute"), default=600, help_text=_("0: no limit.")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("system settings")
        verbose_name_plural = _("system settings")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="systemsettings_singleton")]

    def __str__(self) -> str:
        return str(_("System settings"))

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)
        cache.delete(self.CACHE_KEY)
        if getattr(_request_settings, "row", None) is not None:
            _request_settings.row = self  # the rest of this request sees what it just saved

    def delete(self, *args, **kwargs):
        raise ValidationError(_("The system settings cannot be deleted."))

    def clean(self) -> None:
        if (
            self.session_messages_days
            and self.log_retention_days
            and (self.session_messages_days > self.log_retention_days)
        ):
            raise ValidationError(
                {"session_messages_days": _("Keep messages no longer than the request logs themselves.")}
            )

    @classmethod
    def defaults(cls) -> dict:
        return {
            "timezone": settings.TIME_ZONE,
            "store_session_messages": settings.STORE_SESSION_MESSAGES,
            "log_retention_days": settings.LOG_RETENTION_DAYS,
        }

    @classmethod
    def get(cls) -> SystemSettings:
        """The settings row, created from the environment's defaults on first use; cached, and
        read once per request (``for_request``)."""
        found = getattr(_request_settings, "row", None)
        if found is not None:
            return found
        found = cache.get(cls.CACHE_KEY)
        if found is None:
            found, _created = cls.objects.get_or_create(pk=1, defaults=cls.defaults())
            cache.set(cls.CACHE_KEY, found, 300)
        return found

    @classmethod
    @contextmanager
    def for_request(cls) -> Iterator[SystemSettings]:
        """One reading of the settings for a whole request: a page asks for them a dozen times."""
        if getattr(_request_settings, "row", None) is not None:
            yield _request_settings.row
            return
        _request_settings.row = cls.get()
        try:
            yield _request_settings.row
        finally:
            _request_settings.row = None

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class TaskRun(models.Model):
    """The last run of one scheduled task (one row per task), written by ``hub.taskruns.recorded``
    around every Celery beat task, so admins see on one page, and Prometheus as metrics, whether
    rollups, partitions, retention and the rest still run and how long they take."""

    class Outcome(models.TextChoices):
        RUNNING = "running", _("running")
        OK = "ok", _("succeeded")
        FAILED = "failed", _("failed")

    task = models.CharField(_("task"), max_length=200, primary_key=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    started_at = models.DateTimeField(_("last started"))
    finished_at = models.DateTimeField(_("last finished"), null=True)
    duration_seconds = models.FloatField(_("duration (s)"), null=True)
    detail = models.TextField(_("result or error"), blank=True)
    runs = models.BigIntegerField(_("runs"), default=0)
    failures = models.BigIntegerField(_("failures"), default=0)
    last_success_at = models.DateTimeField(_("last success"), null=True)

    class Meta:
        verbose_name = _("scheduled task run")
        verbose_name_plural = _("scheduled task runs")
        ordering = ["task"]

    def __str__(self) -> str:
        return self.task
