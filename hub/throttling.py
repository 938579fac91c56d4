"""Per-key rate limit for ingestion: a fixed one-minute window counted in Redis."""

from __future__ import annotations

import time

from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from hub.models import ApiKey, SystemSettings

WINDOW_SECONDS = 60


class IngestRateThrottle(BaseThrottle):
    """SystemSettings.ingest_rate_per_minute calls per key per minute (0: no limit).

    A fixed window in one atomic counter: every web process shares it, and a burst at a
    window edge can reach twice the rate for a moment, which ingestion tolerates.
    """

    def allow_request(self, request, view) -> bool:
        limit = SystemSettings.get().ingest_rate_per_minute
        if not limit or not isinstance(request.auth, ApiKey):
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = f"ingest-rate:{request.auth.pk}:{window}"
        cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: this call opens the count
            cache.set(key, 1, timeout=WINDOW_SECONDS * 2)
            count = 1
        self._wait = (window + 1) * WINDOW_SECONDS - now
        return count <= limit

    def wait(self) -> float:
        return max(self._wait, 1)
