import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from hub.settings import env

ROOT = Path(__file__).resolve().parents[2]


def test_flags_accept_the_usual_spellings_and_refuse_others(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env.flag("X_FLAG", False) is True
    monkeypatch.setenv("X_FLAG", "0")
    assert env.flag("X_FLAG", True) is False
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env.flag("X_FLAG", False)


def test_integers_refuse_text_and_values_below_minimum(monkeypatch):
    monkeypatch.setenv("X_DAYS", "ninety")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env.integer("X_DAYS", 90)
    monkeypatch.setenv("X_DAYS", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env.integer("X_DAYS", 90, minimum=1)


def test_generated_secret_key_is_kept_private_and_stable(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = env.secret_key(tmp_path)
    assert first == env.secret_key(tmp_path) and len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_unix_socket_redis_becomes_celerys_socket_transport():
    assert env.celery_broker_url("unix:///x/redis.sock") == "redis+socket:///x/redis.sock"
    assert env.celery_broker_url("redis://h:6379/0") == "redis://h:6379/0"


@pytest.mark.django_db
def test_the_database_is_a_real_postgresql():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        assert cursor.fetchone()[0] >= 160000


def test_the_cache_is_a_real_redis():
    from django.core.cache import cache

    cache.set("probe", {"a": 1}, 5)
    assert cache.get("probe") == {"a": 1}
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    assert isinstance(caches["default"], RedisCache)  # the resilient one is Django's, degrading


def _manage(*args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env_overrides}
    for inherited in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"):  # set for the tests only
        environment.pop(inherited, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_deploy_check_is_clean_in_production_mode():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_bad_setting_stops_start_up_with_its_name():
    result = _manage("check", LOG_RETENTION_DAYS="forever")
    assert result.returncode != 0
    assert "LOG_RETENTION_DAYS" in result.stderr


@pytest.mark.django_db
def test_a_request_reads_the_system_settings_once_and_sees_its_own_change():
    from django.core.cache import cache

    from hub.models import SystemSettings

    SystemSettings.get()
    with SystemSettings.for_request() as pinned:
        # Another worker changes the zone mid-request: this request keeps one consistent view.
        SystemSettings.objects.filter(pk=1).update(timezone="Asia/Tokyo")
        cache.delete(SystemSettings.CACHE_KEY)
        assert SystemSettings.get() is pinned and pinned.timezone != "Asia/Tokyo"
        # A change this request saves is what the rest of it sees.
        mine = SystemSettings.objects.get(pk=1)
        mine.timezone = "Europe/Paris"
        mine.save()
        assert SystemSettings.get().timezone == "Europe/Paris"
    assert SystemSettings.get().timezone == "Europe/Paris"  # and so does the next request
    SystemSettings.objects.filter(pk=1).update(timezone="Asia/Tokyo")
    cache.delete(SystemSettings.CACHE_KEY)
    assert SystemSettings.get().timezone == "Asia/Tokyo"
