"""Writes to accounts and keys. Each is one function, keyword-only, in one transaction."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from hub.models import KEY_PREFIX, ApiKey, User, hash_key_secret

PREFIX_LENGTH = 12  # "uhk_" + 8 random characters


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # the whole key: shown to its owner once, never stored


def _new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_create(
    *,
    owner: User,
    name: str,
    scope_ingest: bool = True,
    scope_read: bool = True,
    scope_metrics: bool = False,
    expires_at: datetime | None = None,
    enabled: bool = True,
) -> CreatedKey:
    for _attempt in range(5):
        secret = _new_secret()
        key = ApiKey(
            owner=owner,
            name=name,
            prefix=secret[:PREFIX_LENGTH],
            secret_hash=hash_key_secret(secret),
            scope_ingest=scope_ingest,
            scope_read=scope_read,
            scope_metrics=scope_metrics,
            expires_at=expires_at,
            enabled=enabled,
        )
        key.full_clean()
        try:
            with transaction.atomic():
                key.save()
        except IntegrityError:
            continue  # a prefix collision (48 random bits): draw again
        return CreatedKey(key=key, secret=secret)
    raise RuntimeError("could not draw a unique key prefix")


def api_key_set_enabled(*, key: ApiKey, enabled: bool) -> ApiKey:
    key.enabled = enabled
    key.save(update_fields=["enabled"])
    return key


def api_key_authenticate(secret: str) -> ApiKey | None:
    """The key a presented secret belongs to, or None. Says nothing about usability."""
    if not secret.startswith(KEY_PREFIX):
        return None
    return ApiKey.objects.select_related("owner").filter(secret_hash=hash_key_secret(secret)).first()


LAST_USED_RESOLUTION_SECONDS = 60


def api_key_touch(*, key: ApiKey) -> None:
    """Record use, at most once a minute per key, so a busy key costs no write per request."""
    now = timezone.now()
    if key.last_used_at and (now - key.last_used_at).total_seconds() < LAST_USED_RESOLUTION_SECONDS:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now


@transaction.atomic
def admin_ensure(*, username: str = "admin") -> tuple[User, str | None]:
    """The first admin account: created with a random password if no admin exists yet.

    Returns the admin and, only when it was just created, its password.
    """
    existing = User.objects.filter(role=User.Role.ADMIN).order_by("pk").first()
    if existing:
        return existing, None
    password = secrets.token_urlsafe(12)
    user = User(username=username, role=User.Role.ADMIN, display_name="Administrator")
    user.set_password(password)
    user.full_clean()
    user.save()
    return user, password
