"""The cache, degrading instead of failing when Redis is gone (DESIGN decision 9).

Redis holds only what can be recomputed (system settings, closed days, shared lists, session
copies, rate counters), so a cache that cannot reach it answers as a cache that has nothing:
reads miss, writes are dropped, counters start afresh. After a failure Redis is left alone for
a few seconds, so a page does not wait on a dead socket once per cache call; admins see a
banner meanwhile (``redis_down``). The Celery broker is the same Redis: whoever enqueues tells
``redis_failed`` when it fails and skips Redis while ``redis_down``."""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
_FAILURES = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError)
_down_until = 0.0


def redis_down() -> bool:
    """Whether the cache found Redis unreachable in the last few seconds."""
    return time.monotonic() < _down_until


def redis_failed(error: Exception) -> None:
    """Redis did not answer (the cache, or the broker on the same server): leave it alone a few seconds."""
    global _down_until
    if not redis_down():
        logger.warning("Redis unreachable (%s): serving without the cache for %d s", error, RETRY_AFTER_SECONDS)
    _down_until = time.monotonic() + RETRY_AFTER_SECONDS


class ResilientRedisCache(RedisCache):
    """Django's RedisCache; while Redis is unreachable, a cache with nothing in it."""

    def _guard(self, call, args, fallback):
        if redis_down():
            return fallback()
        try:
            return call(*args)
        except _FAILURES as error:
            redis_failed(error)
            return fallback()

    def get(self, key, default=None, version=None):
        return self._guard(super().get, (key, default, version), lambda: default)

    def get_many(self, keys, version=None):
        return self._guard(super().get_many, (keys, version), dict)

    def has_key(self, key, version=None):
        return self._guard(super().has_key, (key, version), lambda: False)

    def set(self, key, value, timeout=None, version=None):
        return self._guard(super().set, (key, value, timeout, version), lambda: None)

    def set_many(self, data, timeout=None, version=None):
        return self._guard(super().set_many, (data, timeout, version), lambda: list(data))

    def add(self, key, value, timeout=None, version=None):
        return self._guard(super().add, (key, value, timeout, version), lambda: False)

    def touch(self, key, timeout=None, version=None):
        return self._guard(super().touch, (key, timeout, version), lambda: False)

    def delete(self, key, version=None):
        return self._guard(super().delete, (key, version), lambda: False)

    def delete_many(self, keys, version=None):
        return self._guard(super().delete_many, (keys, version), lambda: None)

    def incr(self, key, delta=1, version=None):
        def missing():
            raise ValueError(f"Key '{key}' not found")  # as for a key the cache does not have

        return self._guard(super().incr, (key, delta, version), missing)

    def clear(self):
        return self._guard(super().clear, (), lambda: None)
