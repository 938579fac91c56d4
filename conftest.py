"""Test session set-up shared by every test: real PostgreSQL, real Redis, real browser.

Services come from DATABASE_URL / REDIS_URL when set, else the embedded ones under
var/ (started here if needed and stopped at the end if this run started them).
"""

import os

from hub import embedded

_urls, _ = embedded.environment_urls()
os.environ.update(_urls)
# Playwright's sync API runs an event loop in the test thread; the ORM calls in
# browser tests are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_unconfigure(config):
    # Not just what environment_urls() above started: the settings, imported before this
    # file by pytest-django, usually started them.
    embedded.stop(embedded.started_here())
