from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ProviderType(models.TextChoices):
    CLAUDE = "claude", "Claude"
    OPENAI = "openai", "OpenAI"
    GEMINI = "gemini", "Gemini"
    QWEN = "qwen", "Qwen"
    DEEPSEEK = "deepseek", "DeepSeek"
    OPENAI_COMPATIBLE = "openai-compatible", _("OpenAI-compatible")
    OTHER = "other", _("Other")


class Provider(models.Model):
    """An upstream a request was sent to (an account or endpoint of some provider type)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    type = models.CharField(_("type"), max_length=32, choices=ProviderType.choices)
    base_url = models.URLField(_("base URL"), blank=True)
    cost_multiplier = models.DecimalField(
        _("cost multiplier"), max_digits=8, decimal_places=4, default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Applied to list prices: 0.8 gives 20 percent off, 1.1 adds a 10 percent margin."),
    )  # fmt: skip
    priority = models.IntegerField(_("priority"), default=0, help_text=_("Lower is tried first."))
    weight = models.PositiveIntegerField(_("weight"), default=1, help_text=_("Share of traffic among equal priority."))
    enabled = models.BooleanField(_("enabled"), default=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name


PRICE = {"max_digits": 12, "decimal_places": 6, "validators": [MinValueValidator(Decimal("0"))]}


class ModelPrice(models.Model):
    """List price of a model in USD per million tokens, valid from a date on."""

    model = models.CharField(_("model"), max_length=128)
    provider_type = models.CharField(
        _("provider type"), max_length=32, choices=ProviderType.choices, blank=True,
        help_text=_("Empty: this price applies whatever provider type served the model."),
    )  # fmt: skip
    input_price = models.DecimalField(_("input / 1M tokens"), **PRICE)
    output_price = models.DecimalField(_("output / 1M tokens"), **PRICE)
    cache_creation_price = models.DecimalField(
        _("cache write / 1M tokens"), null=True, blank=True,
        help_text=_("Empty: the provider's published ratio to the input price applies."), **PRICE,
    )  # fmt: skip
    cache_creation_1h_price = models.DecimalField(
        _("1-hour cache write / 1M tokens"), null=True, blank=True,
        help_text=_("Anthropic's 1-hour cache writes; empty: the published ratio applies."), **PRICE,
    )  # fmt: skip
    cache_read_price = models.DecimalField(
        _("cache read / 1M tokens"), null=True, blank=True,
        help_text=_("Empty: the provider's published ratio to the input price applies."), **PRICE,
    )  # fmt: skip
    currency = models.CharField(_("currency"), max_length=3, default="USD", editable=False)
    effective_from = models.DateField(_("effective from"), default=timezone.localdate)
    source = models.CharField(
        _("source"), max_length=255, blank=True, help_text=_("Where and when the price was taken.")
    )

    class Meta:
        verbose_name = _("model price")
        verbose_name_plural = _("model prices")
        ordering = ["model", "provider_type", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "provider_type", "effective_from"], name="modelprice_unique_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} ({self.get_provider_type_display() or _('any provider')})"


class ProviderState(models.TextChoices):
    UP = "up", _("Up")
    DOWN = "down", _("Down")
    UNKNOWN = "unknown", _("Unknown")


class ProviderStatus(models.Model):
    """A provider's health as last computed from its recent traffic (one row per provider),
    written only through ``providers.services.provider_status_record``."""

    provider = models.OneToOneField(
        Provider, on_delete=models.CASCADE, primary_key=True, related_name="status", verbose_name=_("provider")
    )
    state = models.CharField(_("status"), max_length=8, choices=ProviderState.choices, default=ProviderState.UNKNOWN)
    since = models.DateTimeField(_("since"))
    computed_at = models.DateTimeField(_("last computed"))
    availability = models.FloatField(_("availability"), null=True, blank=True)
    requests = models.PositiveIntegerField(_("requests"), default=0)

    class Meta:
        verbose_name = _("provider status")
        verbose_name_plural = _("provider statuses")

    def __str__(self) -> str:
        return f"{self.provider}: {self.get_state_display()}"


class ProviderStatusEvent(models.Model):
    """A change of a provider's status, recorded once when the snapshot changes."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+", verbose_name=_("provider"))
    at = models.DateTimeField(_("time"))
    previous = models.CharField(_("was"), max_length=8, choices=ProviderState.choices)
    state = models.CharField(_("became"), max_length=8, choices=ProviderState.choices)
    availability = models.FloatField(_("availability"), null=True, blank=True)
    requests = models.PositiveIntegerField(_("requests"), default=0)

    class Meta:
        verbose_name = _("provider status change")
        verbose_name_plural = _("provider status changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["-at", "-id"], name="pse_at")]

    def __str__(self) -> str:
        return f"{self.provider}: {self.previous} → {self.state}"
