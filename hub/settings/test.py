"""Settings for the test suite: real PostgreSQL and Redis, fast password hashing."""

import os

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# A namespace per test run and per test (tests/cache_namespace.py), so tests share the real
# Redis without seeing each other's keys.
CACHES["default"]["KEY_FUNCTION"] = "tests.cache_namespace.make_key"  # noqa: F405
# WhiteNoise warns on every request when STATIC_ROOT is missing (tests never collectstatic).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = True
# Tests write and read back at once: every run of the (eager) rollup task recomputes what is
# dirty. Tests of the rest period set it themselves.
ROLLUP_HOUR_REST_SECONDS = 0
ROLLUP_QUEUE_SECONDS = 0
CELERY_TASK_EAGER_PROPAGATES = True
ALLOWED_HOSTS = ["*"]
# Several suites may share one PostgreSQL (parallel checkouts, agents): each names its own test database.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("HUB_TEST_DB", "test_hub")}  # noqa: F405
