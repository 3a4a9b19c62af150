"""Settings, driven by the environment (django-environ).

Environment variables hold deployment facts only (database, Redis, API URL, secrets); what an
operator tunes day to day (DEX targets, timeframes, schedules) lives in database rows.
"""

from __future__ import annotations

from pathlib import Path

import environ

from geckoproject.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env (written by `make run`) fills in what the real environment leaves unset.
DOTENV = env("GECKO_DOTENV", default=str(BASE_DIR / ".env"))
if DOTENV and Path(DOTENV).is_file():
    environ.Env.read_env(DOTENV, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Development has a throw-away key; with DEBUG off a real key must come from the environment.
SECRET_KEY = env("SECRET_KEY", default="insecure-dev-key-only") if DEBUG else env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "geckoproject.apps.GeckoprojectConfig",
    "marketdata",
    "watchlist",
    "collectors",
    "simulator",
    "qlib_export",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "geckoproject.urls"
WSGI_APPLICATION = "geckoproject.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL only: concurrent Celery workers lock SQLite (see geckoproject.checks).
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/geckoproject"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# An unreachable database fails fast (a /healthz probe must not hang on a TCP connect).
DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
    "connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5)
)
DATABASES["default"].setdefault("TEST", {})["NAME"] = env(
    "TEST_DATABASE_NAME", default="test_geckoproject"
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "admin:login"
FORMS_URLFIELD_ASSUME_HTTPS = True

# Security: on by default whenever DEBUG is off; a TLS-terminating proxy is assumed in production.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Read-only API (marketdata.api, collectors.api): login or token. Token first, so an anonymous
# call gets 401 with `WWW-Authenticate: Token` rather than a browser's Basic-auth prompt.
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "geckoproject.pagination.KeysetCursorPagination",
    "PAGE_SIZE": 500,
}
# The schema and docs need a login too; the docs' assets are served locally (no CDN).
SPECTACULAR_SETTINGS = {
    "TITLE": "geckoproject API",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# /healthz (geckoproject.health): per-check timeout, and when beat or the API counts as stale.
HEALTH_TIMEOUT = env.float("HEALTH_TIMEOUT", default=2.0)
HEALTH_BEAT_MAX_AGE = env.int("HEALTH_BEAT_MAX_AGE", default=60)
HEALTH_API_MAX_AGE = env.int("HEALTH_API_MAX_AGE", default=30 * 60)
HEALTH_API_CACHE_SECONDS = env.int("HEALTH_API_CACHE_SECONDS", default=60)

# One console format for every process: LOG_FORMAT=plain|json; each line carries the
# correlation id (Celery task id) of the run that wrote it (geckoproject.logs).
LOGGING = logging_config(env("LOG_FORMAT", default="plain"), env("LOG_LEVEL", default="INFO"))

# --- Celery (see geckoproject/celery.py) ---------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=10 * 60)
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Nothing lost on shutdown (docs/operations.md "Stopping workers"): SIGTERM is a warm shutdown,
# running tasks finish; every message is acked only after its task ran, so a task whose process
# dies is requeued, and unacked ones (countdown retries held by the worker) go back at shutdown.
# A second signal (or SIGQUIT) still gives running tasks the soft-shutdown time, then requeues.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A lost broker connection (Redis restarting) must not kill running tasks: a killed task's
# message stays unacked in Redis until the visibility timeout (an hour), or is acked as failed
# after the reconnect and lost. Running on, a task meeting the outage publishes its retry once
# Redis is back (collectors.tasks.running OUTAGES) and its ack then reaches the restarted server.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=30.0)
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = True
# A worker killed outright (SIGKILL, OOM, host crash) acks nothing and requeues nothing: the
# Redis broker keeps its messages unacknowledged and hands them out again only once they are
# older than the visibility timeout (a worker sweeps at start and every ~100 s). It must exceed
# the longest task (the hard time limit) and the longest retry countdown, or a message would run
# twice; lower it only with that in mind (tests use a few seconds).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600),
}
# DatabaseScheduler plus a heartbeat per tick, read by /healthz (geckoproject.beat).
CELERY_BEAT_SCHEDULER = "geckoproject.beat:HeartbeatScheduler"
# Write each schedule's last run time after every send (beat's default: every 3 minutes), so a
# beat killed and restarted knows what it already sent and does not send it again.
CELERY_BEAT_SYNC_EVERY = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Planners and DB work on "default"; everything that calls the API on "api".
CELERY_TASK_ROUTES = {
    "collectors.tasks.fetch_*": {"queue": "api"},
    "collectors.tasks.collect_dexes": {"queue": "api"},
    "collectors.tasks.backfill_*": {"queue": "api"},
}

# --- Alerts (alerts/, docs/operations.md "Alerts") ---------------------------------------------
# Always an ERROR log line; also a webhook POST and/or e-mail (Django's EMAIL_* settings).
ALERT_WEBHOOK_URL = env("ALERT_WEBHOOK_URL", default="")
ALERT_EMAILS = env.list("ALERT_EMAILS", default=[])
# Their SMTP server, one URL (django-environ): smtp://user:password@host:25, smtp+tls:// for
# STARTTLS (587), smtp+ssl:// for implicit TLS (465); a password's special characters
# percent-encoded.
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="geckoproject@localhost")
GECKO_ALERT_FAILED_RUNS = env.int("GECKO_ALERT_FAILED_RUNS", default=3)
GECKO_ALERT_BREAKER_OPEN_SECONDS = env.int("GECKO_ALERT_BREAKER_OPEN_SECONDS", default=600)
GECKO_ALERT_BEAT_STALE_SECONDS = env.int("GECKO_ALERT_BEAT_STALE_SECONDS", default=300)
GECKO_ALERT_CANDLE_STALE_SECONDS = env.int("GECKO_ALERT_CANDLE_STALE_SECONDS", default=3600)
GECKO_ALERT_PLANNER_SHORT_SECONDS = env.int("GECKO_ALERT_PLANNER_SHORT_SECONDS", default=3600)
GECKO_ALERT_WATCHDOG_SECONDS = env.int("GECKO_ALERT_WATCHDOG_SECONDS", default=60)

# --- GeckoTerminal ---------------------------------------------------------------------------
# The API plan sets the base URL, the default rate, the monthly credit and the history depth:
# public (keyless GeckoTerminal v2), or CoinGecko's keyed demo/pro plans under /api/v3/onchain.
# The published limits are 30/min (public, demo); field reports see 429s from ~27/min and shared
# egress IPs spend the same quota, so the default rate is 25/min: below both, with room to spare.
GECKO_API_PLANS = {
    "public": {
        "url": "https://api.geckoterminal.com/api/v2",
        "rate_per_min": 25.0,
        "monthly_credit": 0,
        "history_days": 180,
    },
    "demo": {
        "url": "https://api.coingecko.com/api/v3/onchain",
        "rate_per_min": 25.0,
        "monthly_credit": 10_000,
        "history_days": 180,
    },
    # Until GET /api/v3/key answers with the plan's own figures: the smallest paid plan (Basic,
    # 250/min and 100k a month) less 10%.
    "pro": {
        "url": "https://pro-api.coingecko.com/api/v3/onchain",
        "rate_per_min": 225.0,
        "monthly_credit": 100_000,
        "history_days": 1500,
    },
}
GECKO_API_PLAN = env("GECKO_API_PLAN", default="public")
_plan = GECKO_API_PLANS.get(GECKO_API_PLAN, GECKO_API_PLANS["public"])
# A secret: sent only to GECKO_API_URL as x-cg-demo-api-key / x-cg-pro-api-key, never logged.
GECKO_API_KEY = env("GECKO_API_KEY", default="")
GECKO_API_URL = env("GECKO_API_URL", default=_plan["url"]).rstrip("/")
GECKO_NETWORK = env("GECKO_NETWORK", default="solana")
GECKO_RATE_LIMIT_PER_MIN = env.float("GECKO_RATE_LIMIT_PER_MIN", default=_plan["rate_per_min"])
# Calls a month the plan allows (0: no monthly cap); the planner spreads it over the month.
GECKO_MONTHLY_CREDIT = env.int("GECKO_MONTHLY_CREDIT", default=_plan["monthly_credit"])
GECKO_HISTORY_DAYS = env.int("GECKO_HISTORY_DAYS", default=_plan["history_days"])
GECKO_RATE_LIMIT_BURST = env.int("GECKO_RATE_LIMIT_BURST", default=3)
# Share of the rate kept for live collection however hard a backfill pulls
# (collectors.gecko.ratelimit).
GECKO_RATE_LIMIT_LIVE_SHARE = env.float("GECKO_RATE_LIMIT_LIVE_SHARE", default=0.5)
# A 429 may carry Retry-After: 0, so every 429 pauses all callers for at least this (seconds).
GECKO_RATE_LIMIT_COOLDOWN_FLOOR = env.float("GECKO_RATE_LIMIT_COOLDOWN_FLOOR", default=30.0)
# Circuit breaker (collectors.gecko.breaker): consecutive failures to open, seconds before a
# trial call.
GECKO_BREAKER_FAILURES = env.int("GECKO_BREAKER_FAILURES", default=5)
GECKO_BREAKER_COOLOFF = env.float("GECKO_BREAKER_COOLOFF", default=60.0)
# A running task's lock and in-flight claim last this long unless its process renews them
# (collectors.fleet.lease): a worker killed outright blocks its work at most this long.
GECKO_LEASE_SECONDS = env.int("GECKO_LEASE_SECONDS", default=60)
GECKO_HTTP_TIMEOUT = env.float("GECKO_HTTP_TIMEOUT", default=20.0)
# Retries on 429/5xx/timeouts: exponential backoff with full jitter, capped.
GECKO_RETRY_ATTEMPTS = env.int("GECKO_RETRY_ATTEMPTS", default=5)
GECKO_RETRY_BACKOFF = env.float("GECKO_RETRY_BACKOFF", default=1.0)
GECKO_RETRY_BACKOFF_MAX = env.float("GECKO_RETRY_BACKOFF_MAX", default=60.0)
# A task whose call met a transient fault on every attempt waits and is retried by Celery this
# many times, after a countdown from GECKO_TASK_FAULT_BACKOFF seconds doubling each time
# (jittered); then its run is failed (collectors.tasks.running). The unit is planned again anyway.
GECKO_TASK_FAULT_RETRIES = env.int("GECKO_TASK_FAULT_RETRIES", default=3)
GECKO_TASK_FAULT_BACKOFF = env.float("GECKO_TASK_FAULT_BACKOFF", default=30.0)
# A candle gap still open after a backfill is not queued again for BASE seconds, doubling with
# each such backfill up to MAX; after the API gave the same answer (a 404, the same implausible
# candle) GECKO_GAP_SAME_ANSWERS times in a row it is marked unfillable with that answer.
GECKO_GAP_RETRY_BASE_SECONDS = env.float("GECKO_GAP_RETRY_BASE_SECONDS", default=900.0)
GECKO_GAP_RETRY_MAX_SECONDS = env.float("GECKO_GAP_RETRY_MAX_SECONDS", default=86400.0)
GECKO_GAP_SAME_ANSWERS = env.int("GECKO_GAP_SAME_ANSWERS", default=3)
GECKO_WATCHLIST_CSV = env(
    "GECKO_WATCHLIST_CSV", default=str(BASE_DIR / "fixtures" / "watchlist.csv")
)

# --- Archive (marketdata/archive.py, docs/operations.md "Cold months") ----------------------
# Months that ended more than GECKO_HOT_MONTHS months ago are written to Parquet under
# GECKO_ARCHIVE_DIR, verified, and their partitions dropped by the daily maintenance: 0 keeps
# only the current month in PostgreSQL; "all" (the default) keeps every month.


def hot_months(text: str) -> int | None:
    """``all`` (or empty): None, keep every month; else a count of ended months, 0 or more."""
    if text.strip().lower() in ("", "all"):
        return None
    if not text.strip().isdigit():
        raise environ.ImproperlyConfigured(
            f"GECKO_HOT_MONTHS={text!r}: give 'all' or a number of months, 0 or more"
        )
    return int(text)


GECKO_HOT_MONTHS = hot_months(env.str("GECKO_HOT_MONTHS", default="all"))
GECKO_ARCHIVE_DIR = Path(env("GECKO_ARCHIVE_DIR", default=str(BASE_DIR / "archive")))
# A month is packed (its indexes rebuilt) and archived by tasks of its own, which may run far
# past CELERY_TASK_TIME_LIMIT: a month of 1,000 pools is tens of millions of rows.
GECKO_MAINTENANCE_TIME_LIMIT = env.int("GECKO_MAINTENANCE_TIME_LIMIT", default=6 * 3600)

# --- Admin ------------------------------------------------------------------------------------
# The operations overview links here (Flower runs beside the workers; `make run` starts it).
FLOWER_URL = env("FLOWER_URL", default="http://127.0.0.1:5555/")
