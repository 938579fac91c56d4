"""Settings shared by every environment. Values from outside come through ``env``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from hub.embedded import var_dir

from . import env

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = var_dir()

DEBUG = env.flag("DEBUG", False)
SECRET_KEY = env.secret_key(VAR_DIR)
ALLOWED_HOSTS = env.listing("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env.listing("CSRF_TRUSTED_ORIGINS", "http://localhost,http://127.0.0.1")

INSTALLED_APPS = [
    "hub.apps.HubConfig",
    "providers.apps.ProvidersConfig",
    "usage.apps.UsageConfig",
    "sessions_app.apps.SessionsAppConfig",
    "stats.apps.StatsConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hub.middleware.SystemTimezoneMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"
ASGI_APPLICATION = "hub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hub.context_processors.navigation",
            ],
        },
    }
]

# --- data stores ---------------------------------------------------------------
DATABASES = {"default": dj_database_url.parse(env.database_url(), conn_max_age=60, conn_health_checks=True)}
DATABASES["default"]["NAME"] = DATABASES["default"]["NAME"] or "hub"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.redis_url()
CACHES = {
    "default": {
        "BACKEND": "hub.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "hub",
        # A Redis that is gone must cost a page milliseconds, not the OS's connect timeout.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Content-Security-Policy: no inline script or style on any page of the hub --------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- accounts -------------------------------------------------------------------
AUTH_USER_MODEL = "hub.User"
# django-axes counts failed logins (this page's and the admin's) per account and per address.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.integer("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.integer("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locked: an account, or an address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Invalid API keys from one address: this many a minute, then 429 until the minute is over.
INVALID_API_KEYS_PER_MINUTE = env.integer("INVALID_API_KEYS_PER_MINUTE", 20, minimum=1)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
CSRF_FAILURE_VIEW = "hub.views.csrf_failure"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- language and time ------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Numbers grouped in thousands in every language (Django leaves zh_Hans ungrouped).
FORMAT_MODULE_PATH = ["hub.locale_formats"]
USE_I18N = True
USE_TZ = True
# Stored in UTC; shown in SystemSettings.timezone, whose default this is.
TIME_ZONE = env.text("TIME_ZONE", "Asia/Shanghai")

# --- product defaults (SystemSettings starts from these) ----------------------------
LOG_RETENTION_DAYS = env.integer("LOG_RETENTION_DAYS", 90, minimum=1)
STORE_SESSION_MESSAGES = env.flag("STORE_SESSION_MESSAGES", False)

# --- static files -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- REST API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "hub.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "hub.openapi.HubAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # ?format= names a record format on the ingest API, not a renderer.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LLM Usage Hub API",
    "DESCRIPTION": "Push LLM request records in; pull logs and statistics out.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page's assets are served from here, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
INGEST_MAX_BODY_BYTES = env.integer("INGEST_MAX_BODY_BYTES", 64 * 1024 * 1024, minimum=1024)
# The rollup task recomputes an hour written to again at most this often (seconds): under steady
# ingest an hour is dirty again within a second, and recomputing it on every batch kept the
# worker's cores busy with work the next batch undid. Meanwhile pages read that hour's raw rows.
ROLLUP_HOUR_REST_SECONDS = env.integer("ROLLUP_HOUR_REST_SECONDS", 30, minimum=0)
# Writes ask for a rollup run at most this often (seconds): the first write of a window queues a
# run that starts when the window ends, so it sees every write of the window. Minutes (provider
# availability) lag the writes by about this much; the beat sweep still runs every minute.
ROLLUP_QUEUE_SECONDS = env.integer("ROLLUP_QUEUE_SECONDS", 5, minimum=0)

# --- metrics (/metrics; README "Metrics") ------------------------------------------
METRICS = {
    # Who may scrape without a key: addresses, networks (10.0.0.0/8) or host names (compose's "prometheus").
    "ALLOWED_IPS": env.listing("METRICS_ALLOWED_IPS", ""),
    "PER_USER": env.flag("METRICS_PER_USER", False),
    "PER_KEY": env.flag("METRICS_PER_KEY", False),
    "TOP_MODELS": env.integer("METRICS_TOP_MODELS", 50, minimum=1),
    "TOP_USERS": env.integer("METRICS_TOP_USERS", 50, minimum=1),
    "TOP_KEYS": env.integer("METRICS_TOP_KEYS", 50, minimum=1),
    "CACHE_SECONDS": env.integer("METRICS_CACHE_SECONDS", 5),
}
# django-prometheus: process, request and database metrics beside the hub's own (NetBox's way:
# one switch wraps the middleware and swaps the database backend for its counting one).
METRICS_DJANGO = env.flag("METRICS_DJANGO", True)
if METRICS_DJANGO:
    INSTALLED_APPS.append("django_prometheus")
    MIDDLEWARE = [
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        *MIDDLEWARE,
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ]
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"

# --- Celery -----------------------------------------------------------------------
CELERY_BROKER_URL = env.celery_broker_url(REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Enqueueing from a web request must not hang on a broker that is gone: one quick try, and the
# work waits for the next beat sweep (rollups are found by their dirty marks).
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "create-request-partitions": {
        "task": "usage.tasks.partitions_ensure_ahead",
        "schedule": crontab(minute=7, hour="*/6"),
    },
    "process-rollups": {
        "task": "usage.tasks.rollups_process",
        "schedule": 60.0,
    },
    "expire-stored-conversations": {
        "task": "sessions_app.tasks.conversations_expire",
        "schedule": crontab(minute=23),
    },
    "refresh-provider-statuses": {
        "task": "stats.tasks.provider_statuses_refresh",
        "schedule": 60.0,
    },
    "apply-log-retention": {
        "task": "usage.tasks.retention_apply",
        "schedule": crontab(minute=17, hour=3),
    },
}
if METRICS["CACHE_SECONDS"]:
    # /metrics' text, built ahead while anyone scrapes (stats.metrics): a scrape reads the cache.
    CELERY_BEAT_SCHEDULE["build-metrics"] = {
        "task": "stats.tasks.metrics_build",
        "schedule": float(METRICS["CACHE_SECONDS"]),
        "options": {"expires": float(METRICS["CACHE_SECONDS"])},  # a late build is no use
    }

# --- logging: to stdout, never a secret ---------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.text("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
