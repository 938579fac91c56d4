"""The default settings: everything in ``base`` plus HTTPS hardening.

``HTTPS=0`` turns the HTTPS-only parts off for a hub served over plain HTTP on a
trusted network (``make run`` on a laptop does this); behind a TLS-terminating proxy
leave it on and let the proxy set ``X-Forwarded-Proto``.
"""

from .base import *  # noqa: F403
from .env import flag, integer

HTTPS = flag("HTTPS", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = flag("SECURE_SSL_REDIRECT", True)
    # Load balancers, compose health checks and Prometheus call these over plain HTTP inside
    # the network: answering them with a redirect to HTTPS would fail every one.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = integer("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = flag("SECURE_HSTS_PRELOAD", False)
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
