"""Each test's own cache namespace, through Django's documented KEY_FUNCTION hook (set in
``hub.settings.test``): every thread's cache object builds its keys here, so the live server
answering browser tests from its own thread sees the running test's namespace too, and a test
never gets figures an earlier test cached, without flushing the Redis other runs share."""

from __future__ import annotations

import os

_current = [f"test-{os.getpid()}"]


def begin(test_number: int) -> None:
    _current[0] = f"test-{os.getpid()}-{test_number}"


def make_key(key: str, key_prefix: str, version: int) -> str:
    return f"{_current[0]}:{key_prefix}:{version}:{key}"
