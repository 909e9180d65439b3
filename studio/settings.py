"""Settings come from environment variables.

With nothing set, the studio runs on the embedded default: SQLite, the in-memory channel
layer and eager Celery tasks. `DATABASE_URL` and `REDIS_URL` switch to PostgreSQL, Redis
channels and real Celery workers.
"""
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# `production` turns on the deployment settings at the end of this file (docs/security.md).
FLOWSTUDIO_PROFILE = env("FLOWSTUDIO_PROFILE", default="default")
if FLOWSTUDIO_PROFILE not in ("default", "production"):
    raise ImproperlyConfigured(f"FLOWSTUDIO_PROFILE: {FLOWSTUDIO_PROFILE!r} is not one of default, production")
if FLOWSTUDIO_PROFILE == "production" and DEBUG:
    raise ImproperlyConfigured("DEBUG: must be off with FLOWSTUDIO_PROFILE=production")
# The embedded default (no DATABASE_URL) is one person's laptop; with PostgreSQL or the
# production profile the studio is assumed to face other people.
EMBEDDED = not env("DATABASE_URL", default="") and FLOWSTUDIO_PROFILE != "production"
# Published in the source, so it proves nothing: accepted only with DEBUG on or embedded.
DEVELOPMENT_SECRET_KEY = "dev-insecure-flowstudio-secret-change-me"
DEVELOPMENT_KEYS_ALLOWED = DEBUG or EMBEDDED
SECRET_KEY = env("SECRET_KEY", default="").strip()
# Old keys stay here after a rotation so sessions and webchat user keys stay valid.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
if not DEVELOPMENT_KEYS_ALLOWED:
    if not SECRET_KEY or SECRET_KEY == DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY: set it to a long random value (e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`); the published "
            "development key is accepted only with DEBUG on or on the embedded default "
            "(no DATABASE_URL). See docs/security.md."
        )
    if DEVELOPMENT_SECRET_KEY in SECRET_KEY_FALLBACKS:
        raise ImproperlyConfigured(
            "SECRET_KEY_FALLBACKS: remove the published development key; anyone could sign with it"
        )
elif not SECRET_KEY:
    SECRET_KEY = DEVELOPMENT_SECRET_KEY

# Stored secrets (configuration values, Chat API keys, webhook and identity secrets) are
# encrypted with their own keys, not SECRET_KEY (flows/encryption.py): Fernet keys, the
# first encrypts, all decrypt; `manage.py rotate_secrets` re-encrypts with the first.
FLOWSTUDIO_ENCRYPTION_KEYS = env.list("FLOWSTUDIO_ENCRYPTION_KEYS", default=[])
for _position, _key in enumerate(FLOWSTUDIO_ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key)
    except (ValueError, TypeError):
        # The message names the position only: a typo of a key is still most of the key.
        raise ImproperlyConfigured(
            f"FLOWSTUDIO_ENCRYPTION_KEYS: key {_position} is not a Fernet key (32 bytes, url-safe "
            "base64); make one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`"
        ) from None
if not FLOWSTUDIO_ENCRYPTION_KEYS and not DEVELOPMENT_KEYS_ALLOWED:
    raise ImproperlyConfigured(
        "FLOWSTUDIO_ENCRYPTION_KEYS: set it to a Fernet key (make one with `python -c 'from "
        "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`) and keep it "
        "with your database backups; values stored before keep decrypting through SECRET_KEY "
        "until `manage.py rotate_secrets` re-encrypts them. See docs/security.md."
    )
# Before FLOWSTUDIO_ENCRYPTION_KEYS, the key was derived from SECRET_KEY (and its fallbacks);
# those derived keys stay decrypt-only until this is turned off after `rotate_secrets`. With
# no FLOWSTUDIO_ENCRYPTION_KEYS (DEBUG or embedded) the derived key is the one that encrypts.
FLOWSTUDIO_DECRYPT_WITH_SECRET_KEY = env.bool("FLOWSTUDIO_DECRYPT_WITH_SECRET_KEY", default=True)
# Where the studio is reachable from outside; used to print Chat API and embed URLs. Its host
# is allowed and its origin trusted for CSRF unless ALLOWED_HOSTS/CSRF_TRUSTED_ORIGINS say otherwise.
PUBLIC_URL = env("PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
_public = urlsplit(PUBLIC_URL)
_public_host = _public.hostname or "localhost"
_public_host = f"[{_public_host}]" if ":" in _public_host else _public_host
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=list(dict.fromkeys(
    ["localhost", "127.0.0.1", "[::1]", "testserver", _public_host])))
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[f"{_public.scheme}://{_public.netloc}"])
VAR_DIR = Path(env("FLOWSTUDIO_VAR_DIR", default=str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files as a pinned Python package: the API docs page fetches nothing from a CDN.
    "drf_spectacular_sidecar",
    "rules",
    "channels",
    "django_htmx",
    "studio",
    "flows",
    "runtime",
    "integrations",
    "integrations.webchat",
    "integrations.chat_api",
    "integrations.messaging",
    "integrations.helpdesk",
    "integrations.llm",
    "axes",
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
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "studio.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "studio.context.studio",
            ],
        },
    },
]
WSGI_APPLICATION = "studio.wsgi.application"
ASGI_APPLICATION = "studio.asgi.application"

if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    # Under ASGI persistent connections leak across threads; Django's docs say to disable them.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # An explicit test name, because Channels' live server otherwise prefixes "test_" twice
    # (django/channels#2176). A spawned live-server child gets the real per-worker name
    # (e.g. test_flowstudio_gw1) through STUDIO_LIVE_TEST_DB, set by conftest.py.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("STUDIO_LIVE_TEST_DB")
        or os.environ.get("STUDIO_TEST_DB_NAME")
        or f"test_{DATABASES['default']['NAME']}"
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {"timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub, not channels_redis.core: the core layer's shared per-process
            # receive lock dropped group messages when clients kept connecting and leaving
            # (django/channels#1683): a webchat long poll then missed a whole turn's replies
            # for its 25 s. Pub/sub keeps nothing for a channel nobody listens to, which is
            # what delivery promises anyway (runtime/delivery.py: best effort, the stored
            # transcript is the truth, clients resume by seq).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # Pub/sub channels are one namespace for the whole Redis server, not per
            # database: the database number goes into the prefix, so two studios (or test
            # runs) on one Redis with different databases never hear each other.
            "CONFIG": {"hosts": [{"address": REDIS_URL}],
                       "prefix": env("CHANNEL_LAYER_PREFIX", default=f"flowstudio{urlsplit(REDIS_URL).path.strip('/') or '0'}.")},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
# Shared counters (REST API throttles) live in Redis when there is one, so every process
# counts the same requests; otherwise in the one process's memory.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "flowstudio"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "fire-inactivity-timeouts": {"task": "runtime.tasks.fire_due_timeouts", "schedule": 30.0},
    "fire-state-expiries": {"task": "runtime.tasks.fire_due_states", "schedule": 10.0},
    "sweep-stranded-events": {"task": "runtime.tasks.sweep_stranded_events", "schedule": 15.0},
    # Channel updates acknowledged whose ingestion task was lost (integrations/messaging/inbound.py).
    "sweep-channel-updates": {"task": "messaging.sweep_inbound", "schedule": 15.0},
    # Cron resolution is a minute; a tick every 20 s sees each due time within it, and the
    # claim row makes later ticks (and other beat processes) skip it.
    "fire-schedule-triggers": {"task": "runtime.tasks.fire_due_schedules", "schedule": 20.0},
    "recover-workflows": {"task": "runtime.tasks.recover_workflows", "schedule": 10.0},
    # The dashboard's Analytics reads these rollups; today's figures are at most 10 minutes old.
    "roll-up-analytics": {"task": "runtime.tasks.roll_up_analytics", "schedule": 600.0},
    # Errors are folded into Issues after the turn that stored them; this catches what a
    # skipped fold left (another process was folding, a turn was still running): a minute.
    "fold-issues": {"task": "runtime.tasks.fold_issues", "schedule": 60.0},
}
# A workflow step's lease is its timeout plus this grace (docs/workflows.md): after it, a step
# whose worker died is run again by another worker.
FLOWSTUDIO_WORKFLOW_LEASE_GRACE_SECONDS = env.float("FLOWSTUDIO_WORKFLOW_LEASE_GRACE_SECONDS", default=10.0)
# The Celery queue of workflow steps and the conversation turns they cause; empty: the default.
FLOWSTUDIO_WORKFLOW_QUEUE = env("FLOWSTUDIO_WORKFLOW_QUEUE", default="")
# Without Redis there is no beat process: the server runs this schedule on a thread of its own
# (runtime/embedded_beat.py). Tests leave it off (conftest.py) unless a test asks for it.
FLOWSTUDIO_EMBEDDED_BEAT = env.bool("FLOWSTUDIO_EMBEDDED_BEAT", default=not REDIS_URL)
# Crash recovery (runtime/recovery.py, docs/deploy.md "Crashes and recovery"): an event still
# `received` this long after it was acknowledged, with no turn running in its conversation, is
# processed by the sweep (the beat entry above, and once a lease after each server starts).
FLOWSTUDIO_TURN_LEASE_SECONDS = env.float("FLOWSTUDIO_TURN_LEASE_SECONDS", default=30.0)
if FLOWSTUDIO_TURN_LEASE_SECONDS <= 0:
    raise ImproperlyConfigured("FLOWSTUDIO_TURN_LEASE_SECONDS: must be a positive number of seconds")
FLOWSTUDIO_STARTUP_SWEEP = env.bool("FLOWSTUDIO_STARTUP_SWEEP", default=True)

# django-axes first (it refuses a locked-out login before any password is checked); `rules`
# answers object permissions (studio/permissions.py); ModelBackend does the passwords.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "studio:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "studio:login"

# Login throttling (docs/security.md, "Login and sign-up"): after FLOWSTUDIO_LOGIN_FAILURE_LIMIT
# wrong passwords for one email from one address, that pair is locked out for the cool-off;
# every further try during it starts the cool-off again. A right password resets the count.
AXES_FAILURE_LIMIT = env.int("FLOWSTUDIO_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("FLOWSTUDIO_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "studio.views.accounts.login_username"
AXES_LOCKOUT_CALLABLE = "studio.views.accounts.locked_out"
# Only failures are kept: a row per successful login would grow a table nobody reads.
AXES_DISABLE_ACCESS_LOG = True

# Who may create an account: open (anyone, at /accounts/signup/), invite-only (only through
# an invitation link) or closed (nobody from the web; `manage.py create_owner` still works).
FLOWSTUDIO_SIGNUP = env("FLOWSTUDIO_SIGNUP", default="open" if EMBEDDED else "invite-only")
if FLOWSTUDIO_SIGNUP not in ("open", "invite-only", "closed"):
    raise ImproperlyConfigured(f"FLOWSTUDIO_SIGNUP: {FLOWSTUDIO_SIGNUP!r} is not one of open, invite-only, closed")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic puts the files WhiteNoise serves.
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))

REST_FRAMEWORK = {
    # Bearer first: its WWW-Authenticate header makes unauthenticated calls 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "studio.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Per user (per address without a login), counted in CACHES (docs/security.md).
    "DEFAULT_THROTTLE_CLASSES": ["studio.api.throttles.UserRate", "studio.api.throttles.AnonymousRate"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The OpenAPI schema of the REST API (`/api/v1/schema/`, `manage.py spectacular`) and its docs
# page (`/api/v1/docs/`); both are public: they describe the API, not anyone's data.
SPECTACULAR_SETTINGS = {
    "TITLE": "Flowstudio REST API",
    "DESCRIPTION": """
The REST API of Flowstudio: workspaces, members, bots and everything a bot is made of,
its versions, conversations, users, messages and the state API.

- **Auth**: `Authorization: Bearer <personal access token>` (make one on your profile's
  Tokens page or with `POST /api/v1/tokens`), or the studio's session cookie (writes then
  need the `X-CSRFToken` header).
- **Errors** all look like `{"error": {"code", "message", "details": [{"path", "message"}]}}`.
- **Lists** page with `limit` and `nextToken`; the answer's `meta.nextToken` is null on the last page.
- **Saves** of the bot definition carry `baseRevision`; a stale one is answered 409.

The full guide is docs/rest-api.md in the Flowstudio repository.
""",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "studio.people.models.Role.values",
        "InvitableRoleEnum": "studio.people.workspaces.INVITABLE_ROLES",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "studio.api.docs.add_error_responses"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True, "validatorUrl": None},
}
FLOWSTUDIO_API_RATE_USER = env("FLOWSTUDIO_API_RATE_USER", default="600/minute")
FLOWSTUDIO_API_RATE_ANONYMOUS = env("FLOWSTUDIO_API_RATE_ANONYMOUS", default="60/minute")

# Invitations (docs/workspaces.md): the link is shown in the studio; it is also mailed when
# EMAIL_HOST is set (EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS).
FLOWSTUDIO_INVITATION_DAYS = env.int("FLOWSTUDIO_INVITATION_DAYS", default=7)
EMAIL_HOST = env("EMAIL_HOST", default="")
EMAIL_HOST_CONFIGURED = bool(EMAIL_HOST)
if EMAIL_HOST:
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="flowstudio@localhost")
# Password reset mails go through EMAIL_BACKEND: SMTP with EMAIL_HOST; without it, the
# terminal with DEBUG on or on the embedded default, and nowhere otherwise (a reset link in
# a server log would be a password in the log): the reset page then says to ask an admin.
EMAIL_BACKEND = env("EMAIL_BACKEND", default=(
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend" if DEVELOPMENT_KEYS_ALLOWED
    else "django.core.mail.backends.dummy.EmailBackend"
))
if EMAIL_BACKEND.endswith("filebased.EmailBackend"):
    EMAIL_FILE_PATH = env("EMAIL_FILE_PATH")
PASSWORD_RESET_TIMEOUT = env.int("FLOWSTUDIO_PASSWORD_RESET_SECONDS", default=3600)
# Avatars are stored in the database; this bounds an upload.
FLOWSTUDIO_AVATAR_MAX_BYTES = env.int("FLOWSTUDIO_AVATAR_MAX_BYTES", default=512 * 1024)
# The largest bot file the import page accepts.
FLOWSTUDIO_IMPORT_MAX_BYTES = env.int("FLOWSTUDIO_IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
# WhiteNoise serves static files straight from the app folders when DEBUG is on or this is
# set (the browser tests' live server); otherwise from STATIC_ROOT after collectstatic.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)

# Limits of user code (Execute Code cards, expressions): see docs/engine.md.
FLOWSTUDIO_CODE_TIMEOUT_MS = env.int("FLOWSTUDIO_CODE_TIMEOUT_MS", default=2000)
FLOWSTUDIO_CODE_MEMORY_MB = env.int("FLOWSTUDIO_CODE_MEMORY_MB", default=64)
# Engine work of turns: a pool of threads per server process, at most this many of them for
# one bot at a time, and a wall-clock budget per turn (docs/performance.md, "Engine pool").
FLOWSTUDIO_ENGINE_THREADS = env.int("FLOWSTUDIO_ENGINE_THREADS", default=4)
FLOWSTUDIO_ENGINE_THREADS_PER_BOT = env.int("FLOWSTUDIO_ENGINE_THREADS_PER_BOT", default=1)
FLOWSTUDIO_TURN_BUDGET_MS = env.int("FLOWSTUDIO_TURN_BUDGET_MS", default=5000)
# Turns that may wait on a language model at once per process, each on an idle thread that
# holds no engine slot and no database connection (docs/ai.md, "How a turn waits").
FLOWSTUDIO_LLM_WAITING_TURNS = env.int("FLOWSTUDIO_LLM_WAITING_TURNS", default=256)
# Tokens (in + out) all the LLM calls of one turn may use together; 0: no limit.
FLOWSTUDIO_LLM_TURN_TOKENS = env.int("FLOWSTUDIO_LLM_TURN_TOKENS", default=50_000)
# A demo LLM in the server process (integrations/llm/demo.py) as the provider "demo" of the
# workspace FLOWSTUDIO_LLM_DEMO_WORKSPACE (a slug; default: the Default workspace), so AI cards
# answer with no account anywhere. Off by default; the embedded default only: its one server
# process runs every turn, while elsewhere Celery workers and other web workers would not
# have the demo server (and a fake model answering real users is a silent failure).
FLOWSTUDIO_LLM_DEMO = env.bool("FLOWSTUDIO_LLM_DEMO", default=False)
if FLOWSTUDIO_LLM_DEMO and not EMBEDDED:
    raise ImproperlyConfigured("FLOWSTUDIO_LLM_DEMO: the demo LLM runs on the embedded default only "
                               "(scripts/run-studio.sh, no DATABASE_URL); add a real provider (docs/ai.md)")
FLOWSTUDIO_LLM_DEMO_WORKSPACE = env("FLOWSTUDIO_LLM_DEMO_WORKSPACE", default="")
# Host names (or literal addresses) the outbound guard lets the server fetch from although
# they resolve into its own network (runtime/outbound.py, docs/security.md "Outbound HTTP").
FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = env.list("FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS", default=[])
# The messaging channels' APIs (integrations/messaging, docs/channels.md); the tests point
# them at local servers that speak the same API.
FLOWSTUDIO_TELEGRAM_API_URL = env("FLOWSTUDIO_TELEGRAM_API_URL", default="https://api.telegram.org").rstrip("/")
# The Celery queue of the channels' turns and replies (empty: Celery's default queue).
FLOWSTUDIO_CHANNELS_CELERY_QUEUE = env("FLOWSTUDIO_CHANNELS_CELERY_QUEUE", default="")
# The Celery queue of knowledge indexing jobs (runtime/knowledge/jobs.py); "": the default queue.
FLOWSTUDIO_KNOWLEDGE_CELERY_QUEUE = env("FLOWSTUDIO_KNOWLEDGE_CELERY_QUEUE", default="")
# Seconds a table source waits after its rows change before it is re-indexed (a burst of
# changes is one job; docs/knowledge.md "Table sources").
FLOWSTUDIO_KNOWLEDGE_TABLE_DELAY_S = env.float("FLOWSTUDIO_KNOWLEDGE_TABLE_DELAY_S", default=5.0)
FLOWSTUDIO_SLACK_API_URL = env("FLOWSTUDIO_SLACK_API_URL", default="https://slack.com/api").rstrip("/")
# WhatsApp and Messenger: the Graph API with its version (Meta keeps each for two years).
FLOWSTUDIO_META_GRAPH_API_URL = env("FLOWSTUDIO_META_GRAPH_API_URL",
                                    default="https://graph.facebook.com/v21.0").rstrip("/")
FLOWSTUDIO_TWILIO_API_URL = env("FLOWSTUDIO_TWILIO_API_URL", default="https://api.twilio.com").rstrip("/")
# A file a user sends on WhatsApp is downloaded up to this size (Meta allows 16 MB for video,
# 100 MB for documents; a larger one stays a media id: docs/channels.md, "WhatsApp").
FLOWSTUDIO_CHANNEL_MEDIA_MAX_BYTES = env.int("FLOWSTUDIO_CHANNEL_MEDIA_MAX_BYTES", default=16 * 1024 * 1024)
# Tables (docs/tables.md): rows per table and the JSON size of one row's values.
FLOWSTUDIO_TABLE_MAX_ROWS = env.int("FLOWSTUDIO_TABLE_MAX_ROWS", default=10_000)
FLOWSTUDIO_TABLE_ROW_BYTES = env.int("FLOWSTUDIO_TABLE_ROW_BYTES", default=16 * 1024)

# Logs (docs/deploy.md, "Serving, health and metrics"): one JSON object a line with the
# request and conversation ids when FLOWSTUDIO_JSON_LOGS is on (scripts/serve.sh turns it on),
# plain text otherwise. Every ERROR record is also counted in flowstudio_errors (/metrics).
FLOWSTUDIO_JSON_LOGS = env.bool("FLOWSTUDIO_JSON_LOGS", default=False)
# /metrics answers only with `Authorization: Bearer <this>` when set.
FLOWSTUDIO_METRICS_TOKEN = env("FLOWSTUDIO_METRICS_TOKEN", default="")
LOG_LEVEL = env("LOG_LEVEL", default="WARNING")
_LOG_HANDLERS = ["console", "errors"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Client-controlled text in messages is escaped (studio/log_filters.py).
    "filters": {"context": {"()": "runtime.log_context.ContextFilter"},
                "escape_control": {"()": "studio.log_filters.EscapeControlCharacters"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(conversation_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["context", "escape_control"],
                    "formatter": "json" if FLOWSTUDIO_JSON_LOGS else "plain"},
        "errors": {"class": "runtime.metrics.ErrorCounter"},
    },
    "root": {"handlers": _LOG_HANDLERS, "level": LOG_LEVEL},
    # uvicorn configures its own loggers before the app loads; these take them over so its
    # lines (access log included) are formatted like the rest.
    "loggers": {name: {"handlers": _LOG_HANDLERS, "level": "INFO" if name == "uvicorn.access" else LOG_LEVEL,
                       "propagate": False}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")} if FLOWSTUDIO_JSON_LOGS else {},
}
# Celery's worker would replace the root logger's handlers with its own plain ones.
CELERY_WORKER_HIJACK_ROOT_LOGGER = not FLOWSTUDIO_JSON_LOGS


# ---- Deployment settings (docs/security.md): on with FLOWSTUDIO_PROFILE=production -----------
PRODUCTION = FLOWSTUDIO_PROFILE == "production"
# The header a TLS-terminating proxy sets to say the client used HTTPS. Trust it only behind
# a proxy that overwrites it; "" turns it off (the studio then sees plain HTTP as plain).
_proxy_header = env("FLOWSTUDIO_PROXY_SSL_HEADER", default="X-Forwarded-Proto" if PRODUCTION else "").strip()
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
# Health and metrics probes come from inside the network, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
if PRODUCTION:
    # Hashed, compressed copies made by collectstatic, served with far-future cache headers.
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
