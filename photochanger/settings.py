"""PhotoChanger settings: one module, driven by the environment (see .env.example)."""

import os
from datetime import timedelta
from pathlib import Path

import environ
import structlog

from core.logging import shared_processors
from media.storage_config import media_storage

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise environ.ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off; `make run` writes one into .env"
        )
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS. Off by default so a first run on http://127.0.0.1 works; a deployment behind TLS sets
# SECURE_SSL_REDIRECT=1, which also makes the cookies secure (see .env.example).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Probes and Prometheus scrape over plain HTTP inside the deployment's network.
SECURE_REDIRECT_EXEMPT = [r"^healthz(/live)?$", r"^metrics$"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=SECURE_SSL_REDIRECT)
# Browsers honour HSTS only over HTTPS, so it is on by default outside DEBUG.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    # Only behind a TLS proxy that sets this header itself: a client could send it too.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "servestatic",
    "csp",
    # django-axes, named in Russian for the admin. Before core: its login-failure log reads the
    # lockout flag axes sets.
    "photochanger.app_names.LoginLockoutConfig",
    "core",
    "media",
    "slots",
    "ingest",
    "stats",
    "photochanger",
]

MIDDLEWARE = [
    # Stock middleware from photochanger.middleware runs its hooks on the event loop (no thread
    # trip per hook); see there for the ones kept as Django's.
    # First and (almost) last: django-prometheus times the whole middleware stack and the view.
    "photochanger.middleware.PrometheusBefore",
    "core.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "photochanger.middleware.ContentSecurityPolicy",
    # Outside everything that can answer an error, so machine paths always get JSON; inside the
    # two above, so a rewritten answer still gets their headers.
    "photochanger.errors.JsonErrorResponseMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "photochanger.middleware.Common",
    "django.middleware.csrf.CsrfViewMiddleware",
    "photochanger.middleware.Authentication",
    "photochanger.middleware.Messages",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "photochanger.middleware.PrometheusAfter",
    # Last, so it turns a lockout flagged during any login into one 429 answer.
    "axes.middleware.AxesMiddleware",
]

# AxesStandaloneBackend refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
CSRF_FAILURE_VIEW = "photochanger.errors.csrf_failure"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

ROOT_URLCONF = "photochanger.urls"
ASGI_APPLICATION = "photochanger.asgi.application"

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
                # The server's time zone, so scripts show times as the server's pages do.
                "core.timezones.time_zone",
            ],
        },
    },
]

# The zero-set-up default keeps its SQLite file (and media) under var/, outside the source.
(BASE_DIR / "var").mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var/db.sqlite3'}")}
# A connection killed by a database restart or fail-over is found out and replaced when it is
# taken (with the pool: psycopg's check_connection), instead of failing the request that got it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes writers queue instead of failing with "database is locked" mid-transaction;
    # WAL lets readers (gallery, job status) run while an ingest writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file too: concurrent connections to a shared-cache memory database fail with
    # "table is locked" instead of waiting, which would make concurrency tests meaningless.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"var/test-{os.getpid()}.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pool bounds the connections many waiting uploads can hold; waiters queue for a slot
    # instead of failing, and a request hands its connection back before the provider wait.
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
            "timeout": env.int("DB_POOL_TIMEOUT_SECONDS", default=30),
        }
    }
# django-prometheus's wrappers of the same backends count queries, errors and connections.
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends.", 1
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Shared by the workers on one host, so /healthz pings each provider once a minute in all.
    "health": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": env.path("HEALTH_CACHE_DIR", default=BASE_DIR / "var/cache/health"),
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", "Русский"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Russian date formats with the time zone's name (photochanger/formats/ru/formats.py).
FORMAT_MODULE_PATH = ["photochanger.formats"]
# Every page, the API and the statistics show times in this one zone, with its name (MSK).
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Moscow")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var/static")

MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var/media")
MEDIA_URL = "media/"
# Media files stay on the local disk unless a bucket is configured: STORAGE_URL
# (s3://bucket?endpoint_url=…&region=…&addressing_style=path) or the separate AWS_* variables.
# media/checks.py reports a misconfiguration with a hint.
STORAGE_URL = env.str("STORAGE_URL", default="")
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="")
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="")
AWS_S3_ADDRESSING_STYLE = env.str("AWS_S3_ADDRESSING_STYLE", default="")
# Left empty, boto's own chain applies (instance role, ~/.aws); never put keys in STORAGE_URL.
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="")
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="")
# Connect and read timeout of each storage request; with three tries, an unreachable bucket
# fails an upload well inside its window.
STORAGE_TIMEOUT_SECONDS = env.float("STORAGE_TIMEOUT_SECONDS", default=5)
STORAGES = {
    "default": media_storage(
        url=STORAGE_URL,
        bucket=AWS_STORAGE_BUCKET_NAME,
        endpoint_url=AWS_S3_ENDPOINT_URL,
        region=AWS_S3_REGION_NAME,
        addressing_style=AWS_S3_ADDRESSING_STYLE,
        access_key=AWS_ACCESS_KEY_ID,
        secret_key=AWS_SECRET_ACCESS_KEY,
    ),
    # collectstatic also writes gzipped copies; ServeStatic serves them to clients that accept gzip.
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedStaticFilesStorage"},
}
# ServeStatic is WhiteNoise made async: WhiteNoise's sync-only middleware would make every
# request, ingest included, hold a thread for as long as it waits on a provider.
# With DEBUG it serves from the apps' static folders; otherwise from collectstatic's STATIC_ROOT.
SERVESTATIC_AUTOREFRESH = SERVESTATIC_USE_FINDERS = DEBUG

# Uploads bigger than this spill to temporary files while Django parses the form (off the loop).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
DATA_UPLOAD_MAX_NUMBER_FILES = 10

# Content-Security-Policy on every answer: scripts and styles only from our own static files (the
# templates carry no inline script, style or event handler); previews are blob: URLs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Serving (`python manage.py serve`: uvicorn with these limits) --------------------------
HOST = env.str("HOST", default="0.0.0.0")  # noqa: S104 (booths on the LAN post here)
PORT = env.int("PORT", default=8000)
WORKERS = env.int("WORKERS", default=1)
# The request line and headers together; a bigger head is refused with a JSON 431 (h11 stops it
# reading on, core.asgi draws the exact line).
SERVER_MAX_HEADER_BYTES = env.int("SERVER_MAX_HEADER_BYTES", default=64 * 1024)
# An idle keep-alive connection is closed after this long.
SERVER_KEEPALIVE_SECONDS = env.int("SERVER_KEEPALIVE_SECONDS", default=5)
# Connections and requests one worker serves at once; past it uvicorn answers 503 at once.
SERVER_LIMIT_CONCURRENCY = env.int("SERVER_LIMIT_CONCURRENCY", default=1000)
# Connections the kernel queues for a worker that has not accepted them yet.
SERVER_BACKLOG = env.int("SERVER_BACKLOG", default=2048)
# On SIGTERM, requests in flight get this long to finish: the longest window (60 s) and a margin,
# inside docker compose's stop_grace_period of 75 s.
SERVER_GRACEFUL_SHUTDOWN_SECONDS = env.int("SERVER_GRACEFUL_SHUTDOWN_SECONDS", default=65)

# --- PhotoChanger ---------------------------------------------------------------------------
# Defaults of the runtime settings that staff can change in the database (core.runtime).
RESULT_TTL_HOURS = env.int("RESULT_TTL_HOURS", default=72)
SYNC_RESPONSE_SECONDS = env.int("SYNC_RESPONSE_SECONDS", default=48)
MAX_UPLOAD_MB = env.int("MAX_UPLOAD_MB", default=15)
INGEST_PASSWORD = env.str("INGEST_PASSWORD", default="")
ADMIN_USERNAME = env.str("ADMIN_USERNAME", default="")
ADMIN_PASSWORD = env.str("ADMIN_PASSWORD", default="")

# How long a client may take to send a request body before it gets 408.
UPLOAD_READ_TIMEOUT_SECONDS = env.float("UPLOAD_READ_TIMEOUT_SECONDS", default=60)
# Threads that decode and encode images; bounds the CPU and memory spent on pixels at once.
IMAGE_WORKERS = env.int("IMAGE_WORKERS", default=2)
# An event-loop stall longer than this is logged as `event_loop.blocked`.
LOOP_LAG_WARN_MS = env.float("LOOP_LAG_WARN_MS", default=50)
# Every worker ends jobs left `processing` past their deadline (their worker died) this often.
RECONCILE_INTERVAL_SECONDS = env.float("RECONCILE_INTERVAL_SECONDS", default=20)

PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")
PUBLIC_MEDIA_BASE_URL = env.str("PUBLIC_MEDIA_BASE_URL", default=PUBLIC_BASE_URL).rstrip("/")

GEMINI_API_KEY = env.str("GEMINI_API_KEY", default="")
GEMINI_BASE_URL = env.str(
    "GEMINI_BASE_URL", default="https://generativelanguage.googleapis.com"
).rstrip("/")
GEMINI_MODEL = env.str("GEMINI_MODEL", default="gemini-2.5-flash-image")
TURBOTEXT_API_KEY = env.str("TURBOTEXT_API_KEY", default="")
TURBOTEXT_BASE_URL = env.str("TURBOTEXT_BASE_URL", default="https://www.turbotext.ru").rstrip("/")
# Long side, in pixels, photos and templates are downscaled to before they go to Gemini.
GEMINI_MAX_SIDE = env.int("GEMINI_MAX_SIDE", default=2048)
# A Gemini answer without an image (NO_IMAGE, IMAGE_OTHER) or a 503 is retried once, only when
# at least this long (or as long as the first attempt took) is left of the window.
GEMINI_RETRY_MIN_SECONDS = env.float("GEMINI_RETRY_MIN_SECONDS", default=15)
TURBOTEXT_POLL_SECONDS = env.float("TURBOTEXT_POLL_SECONDS", default=2)
# A slot's next provider is tried only while at least this long (or its typical time, when that
# is longer) is left of the window; the attempt before it is cut short to leave that much.
FALLBACK_MIN_ATTEMPT_SECONDS = env.float("FALLBACK_MIN_ATTEMPT_SECONDS", default=4)
# Kept at the end of the window for a slot that answers with the original photo when every
# provider failed: rendering it into the print takes about a second for a 24 MP photo.
LAST_RESORT_SECONDS = env.float("LAST_RESORT_SECONDS", default=2)
# Result links a provider answers are downloaded only from its own API host (TURBOTEXT_BASE_URL)
# or from these host names, and only when they resolve to public addresses.
PROVIDER_RESULT_HOSTS = env.list("PROVIDER_RESULT_HOSTS", default=[])
# The local provider's portrait-matting model: empty means the MODNet file installed from
# requirements-models.txt. Any other file must still have the pinned SHA-256.
LOCAL_MATTING_MODEL_PATH = env.str("LOCAL_MATTING_MODEL_PATH", default="")
# CPU threads one matting inference may use. One: two photos at once already fill two cores,
# and a second thread only pays off on an otherwise idle machine (bench/RESULTS.md).
LOCAL_MATTING_THREADS = env.int("LOCAL_MATTING_THREADS", default=1)
# The shared provider HTTP client (providers/http.py). Keep the connection limit above the sum of
# the per-provider concurrency limits: httpcore leaks a pool slot whenever a request that waits
# for a connection is cancelled (encode/httpcore#1093), so requests must never have to wait.
PROVIDER_HTTP_MAX_CONNECTIONS = env.int("PROVIDER_HTTP_MAX_CONNECTIONS", default=100)
PROVIDER_HTTP_CONNECT_TIMEOUT_SECONDS = env.float(
    "PROVIDER_HTTP_CONNECT_TIMEOUT_SECONDS", default=5
)
PROVIDER_HTTP_READ_TIMEOUT_SECONDS = env.float("PROVIDER_HTTP_READ_TIMEOUT_SECONDS", default=45)
PROVIDER_HTTP_POOL_TIMEOUT_SECONDS = env.float("PROVIDER_HTTP_POOL_TIMEOUT_SECONDS", default=5)

JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default=SECRET_KEY)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=30),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "SIGNING_KEY": JWT_SIGNING_KEY,
    # Tokens carry a digest of the password hash: changing the password revokes them all.
    "CHECK_REVOKE_TOKEN": True,
    "USER_AUTHENTICATION_RULE": "core.auth.is_active_staff",
    "TOKEN_REFRESH_SERIALIZER": "core.api.StaffTokenRefreshSerializer",
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        # The staff pages call the API with their session cookie (and CSRF token).
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "EXCEPTION_HANDLER": "core.api_errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PhotoChanger staff API",
    "DESCRIPTION": "Staff REST API: slots, settings, template media, statistics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAdminUser"],
    # Swagger UI and Redoc assets come from the installed sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"TemplateRoleEnum": "slots.models.SlotTemplateMedia.Role"},
}

# Login throttling (django-axes): 10 failures lock the username, and separately the client IP,
# for 15 minutes. A timedelta, because a plain integer here means hours.
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The `auth.login.success` log line is the access log. Axes' own would store a row per login and
# create a database session for every JWT login of a script, which nothing ever uses.
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_CALLABLE = "core.auth.lockout_response"
AXES_CLIENT_IP_CALLABLE = "core.auth.client_ip"
# Reverse proxies whose X-Forwarded-For is believed; from anyone else the header is ignored.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# /metrics answers a request with `Authorization: Bearer METRICS_TOKEN`, or one made straight
# from these networks (not through a proxy); nobody else.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1"])
# Staff accounts (password hashes) for `manage.py create_staff_from_secrets`; never committed.
RUNTIME_CREDENTIALS_FILE = env.path(
    "RUNTIME_CREDENTIALS_FILE", default=BASE_DIR / "secrets/runtime_credentials.json"
)

# One JSON object per line on stdout (a readable console format in DEBUG), for structlog events
# and records from Django, uvicorn and httpx alike; secrets and image data are redacted.
LOG_JSON = env.bool("LOG_JSON", default=not DEBUG)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"main": {"()": "core.logging.formatter", "json": LOG_JSON}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "main"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        **{
            name: {"handlers": ["console"], "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
        # httpx logs every request URL at INFO; provider download links are capabilities.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
structlog.configure(
    processors=[
        structlog.stdlib.filter_by_level,
        *shared_processors(),
        structlog.processors.StackInfoRenderer(),
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    # Not cached: structlog.testing.capture_logs must see loggers that already logged.
    cache_logger_on_first_use=False,
)

# --- Provider keys at rest (core/crypto.py) ----------------------------------------------------
# Provider API keys are stored encrypted under a key derived from this; it defaults to SECRET_KEY.
# To rotate it, list the previous value in FIELD_ENCRYPTION_KEYS_OLD (comma-separated) and run
# `manage.py reencrypt_secrets` (README, "Rotate secrets").
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default=SECRET_KEY)
FIELD_ENCRYPTION_KEYS_OLD = env.list("FIELD_ENCRYPTION_KEYS_OLD", default=[])

# --- Journal of configuration changes (core/journal.py) ------------------------------------------
# django-auditlog stores the entries; PhotoChanger's services write them (none are automatic).
INSTALLED_APPS = [*INSTALLED_APPS, "photochanger.app_names.JournalConfig"]  # django-auditlog
# Changes are kept as JSON values (settings objects stay objects), not as their str().
AUDITLOG_STORE_JSON_CHANGES = True

# --- Syslog (core/logging.py) --------------------------------------------------------------------
# Optional: the same JSON lines also go to syslog, e.g. 10.0.0.5:514 (UDP) or /dev/log.
LOG_SYSLOG_ADDRESS = env.str("LOG_SYSLOG_ADDRESS", default="")
LOG_SYSLOG_FACILITY = env.str("LOG_SYSLOG_FACILITY", default="user")
if LOG_SYSLOG_ADDRESS:
    from core.logging import with_syslog

    LOGGING = with_syslog(LOGGING, address=LOG_SYSLOG_ADDRESS, facility=LOG_SYSLOG_FACILITY)

# --- The API contract (photochanger/openapi.py, spec/contracts/) ---------------------------------
# One OpenAPI 3.1 document for every route: drf-spectacular describes the staff API, a hook adds
# the plain Django views (ingest, public links, health, metrics) from spec/contracts/src/.
SPECTACULAR_SETTINGS.update(
    {
        "TITLE": "PhotoChanger API",
        "DESCRIPTION": "The booth's ingest endpoint, public result links, health and metrics, "
        "and the staff REST API (slots, settings, template media, statistics, journal).",
        "OAS_VERSION": "3.1.0",
        # Request bodies get their own components, so an upload field is binary, not a URL.
        "COMPONENT_SPLIT_REQUEST": True,
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",
            "photochanger.openapi.add_plain_routes",
        ],
    }
)
