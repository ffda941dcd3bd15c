"""Settings, all read from the environment (twelve-factor).

Development needs no variable at all: an embedded SQLite file, DEBUG on.
Production (``DJANGO_ENV=production``) refuses to start without a real
``SECRET_KEY`` and ``ALLOWED_HOSTS``, and passes ``manage.py check --deploy``.
"""

import re
import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from common.logging import LOG_FORMATS, default_log_format, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():  # optional, never committed
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

PRODUCTION = env.str("DJANGO_ENV", default="development") == "production"
DEBUG = env.bool("DEBUG", default=not PRODUCTION)

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("Production needs SECRET_KEY (at least 50 random characters).")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Production needs ALLOWED_HOSTS.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.BackOfficeAdminConfig",  # django.contrib.admin, our site (config.admin)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "users.apps.UsersConfig",
    "offices.apps.OfficesConfig",
    "sales.apps.SalesConfig",
    "leancore.apps.LeancoreConfig",
    "mirror.apps.MirrorConfig",  # the Bsale mirror (docs/mirror.md): top layer
    "django_tasks",
    "django_tasks_db",  # the background queue's tables, admin and `db_worker`
    "axes",  # admin and token logins: lockout after repeated failures
]

MIDDLEWARE = [
    "common.middleware.RequestIdMiddleware",  # first: every log line has the request id
    "common.middleware.ApiJsonErrorsMiddleware",  # API errors JSON, DEBUG pages included
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "common.middleware.RequestBodyLimitMiddleware",
    "common.middleware.RejectNulMiddleware",  # PostgreSQL cannot store or compare NUL
    "common.middleware.DatabaseUnavailableMiddleware",
    "common.db_router.ReplicaRoutingMiddleware",  # which database this request reads
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "common.middleware.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# A management command other than runserver (migrate, seed_demo, sync...), not a server.
_MANAGEMENT_COMMAND = Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] != ["runserver"]
# DATABASE_URL=postgres://user:pass@host:5432/name switches to PostgreSQL (psycopg 3).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections: opening a PostgreSQL connection costs more than a whole request.
    # Health checks drop a connection that died (database restart) before it is reused.
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("OPTIONS", {})
    # A database that does not answer must not hold a web worker until gunicorn kills it:
    # connecting gives up after DATABASE_CONNECT_TIMEOUT seconds and a statement after
    # DATABASE_STATEMENT_TIMEOUT_MS (a lock wait included); both are the 503 of a stopped
    # database (common.errors). Management commands (migrate, seed_demo, rebuilds) may run
    # long: DATABASE_COMMAND_STATEMENT_TIMEOUT_MS, none by default. 0 disables a timeout.
    _db["OPTIONS"].setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
    _statement_ms = (
        env.int("DATABASE_COMMAND_STATEMENT_TIMEOUT_MS", default=0)
        if _MANAGEMENT_COMMAND
        else env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=15000)
    )
    if _statement_ms:
        _options = _db["OPTIONS"].get("options", "")
        _db["OPTIONS"]["options"] = f"{_options} -c statement_timeout={_statement_ms}".strip()
    # The test database is created and destroyed by pytest-django; keep its name predictable.
    _db.setdefault("TEST", {})["NAME"] = env.str("TEST_DATABASE_NAME", default=None)
else:
    # SQLite: wait for the writer lock instead of failing at once under concurrent requests.
    _db.setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
# Read replicas (docs/deployment.md): DATABASE_REPLICA_URLS, comma-separated, zero or more.
# The API's GETs read a healthy one (common.db_router); everything else reads the primary.
DATABASE_REPLICAS = []
for _number, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
    _alias = f"replica{_number}"
    _replica = environ.Env.db_url_config(_url)
    _replica["CONN_MAX_AGE"] = _db.get("CONN_MAX_AGE", 0)
    _replica["CONN_HEALTH_CHECKS"] = True
    # A replica that does not answer is skipped: do not wait long to find out.
    _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    # Tests run against the primary's test database (pytest-django creates no other).
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[_alias] = _replica
    DATABASE_REPLICAS.append(_alias)
DATABASE_ROUTERS = ["common.db_router.PrimaryReplicaRouter"]
# A replica further behind than this is skipped; its health is checked at most this often.
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=5.0)
REPLICA_HEALTH_SECONDS = env.float("REPLICA_HEALTH_SECONDS", default=2.0)
# GET/HEAD requests of these paths may read a replica (the read APIs, not the admin);
# a path ending in "/" is a prefix.
REPLICA_READ_PATHS = env.list("REPLICA_READ_PATHS", default=["/v1/", "/user"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    # django-axes' lockout check first (see common/login_lockout.py), then the real one.
    "common.login_lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Cache ----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "common.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Seconds an API request's user and permissions stay in the cache (common.auth_cache).
# Only a cache that every worker shares can hold them safely: on by default with Redis.
AUTH_CACHE_SECONDS = env.int("AUTH_CACHE_SECONDS", default=30 if REDIS_URL else 0)

# --- Internationalisation -------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="es")  # back-office staff speak Spanish
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="America/Lima")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------
STATIC_URL = "static/"
# nginx serves these files itself in front of the web hosts (deploy/nginx/salesdesk.conf).
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- REST API -------------------------------------------------------------------
# "N/Ms" (also /s, /m, /h, /d); "off" disables the limit.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="3000/300s").strip() or "off"
if API_THROTTLE_RATE.lower() in {"off", "none"}:
    API_THROTTLE_RATE = None
elif not re.fullmatch(r"\s*\d+\s*/\s*\d*\s*(?:[smhd][a-z]*)?\s*", API_THROTTLE_RATE.lower()):
    raise ImproperlyConfigured("API_THROTTLE_RATE must look like '3000/300s' (or 'off').")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["common.authentication.BsaleJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["common.permissions.ModelViewPermission"],
    "DEFAULT_RENDERER_CLASSES": ["common.renderers.ORJSONRenderer"],
    # Hostile JSON (deep nesting, huge numbers, NUL, bad UTF-8, a repeated key) is a 400
    # (common.parsers).
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "common.renderers.JSONContentNegotiation",
    "DEFAULT_FILTER_BACKENDS": [],
    "DEFAULT_SCHEMA_CLASS": "common.openapi.BsaleAutoSchema",
    "EXCEPTION_HANDLER": "common.errors.exception_handler",
    # OPTIONS answers the methods a path allows, as its Allow header lists OPTIONS
    # (DRF's SimpleMetadata needs serializers, which Bsale resources do not use).
    "DEFAULT_METADATA_CLASS": "common.metadata.AllowedMethodsMetadata",
    # Bsale's limit: 3,000 requests per 300 s per client (user, or IP when anonymous).
    "DEFAULT_THROTTLE_CLASSES": ["common.throttling.ApiRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": API_THROTTLE_RATE},
    # Proxies in front that append to X-Forwarded-For (nginx: 1); 0 trusts REMOTE_ADDR only.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
    # A token carries a hash of its user's password: changing the password (or rotating
    # an API client's secret) revokes every token issued before.
    "CHECK_REVOKE_TOKEN": True,
    # simplejwt's tokens, but a time claim no date can hold (exp=1e20) is a 401, not a 500.
    "AUTH_TOKEN_CLASSES": ("common.tokens.AccessToken",),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sales API (Bsale-compatible) and Leancore methods",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs and the schema are public; every operation they describe needs a token.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.openapi.add_components",
    ],
}

# A user's whole sales history is bounded: a write that would pass it is a 400
# (sales.services; docs/history.md has the timings at the bound).
SALES_HISTORY_MAX_ENTRIES_PER_USER = env.int("SALES_HISTORY_MAX_ENTRIES_PER_USER", default=20_000)

# Sales summary: Bsale's subtotal includes tax by default; "net" switches it to net_amount.
SALES_SUMMARY_SUBTOTAL = env.str("SALES_SUMMARY_SUBTOTAL", default="total")
if SALES_SUMMARY_SUBTOTAL not in {"total", "net"}:
    raise ImproperlyConfigured("SALES_SUMMARY_SUBTOTAL must be 'total' or 'net'.")
# Megabytes of each worker's memory for API summaries served again, only while no write has
# changed them since (sales/summary_cache.py; PostgreSQL). 0 turns it off.
SALES_SUMMARY_CACHE_MB = env.int("SALES_SUMMARY_CACHE_MB", default=16)
if SALES_SUMMARY_CACHE_MB < 0:
    raise ImproperlyConfigured("SALES_SUMMARY_CACHE_MB must be 0 or more.")

# --- The Bsale mirror (docs/mirror.md) -----------------------------------------------
BSALE_API_URL = env.str("BSALE_API_URL", default="https://api.bsale.com.pe")
BSALE_ACCESS_TOKEN = env.str("BSALE_ACCESS_TOKEN", default="")
BSALE_COMPANY_ID = env.str("BSALE_COMPANY_ID", default="")  # webhooks' cpnId; empty: any
BSALE_WEBHOOK_SECRET = env.str("BSALE_WEBHOOK_SECRET", default="")  # empty: webhook disabled
BSALE_RATE_LIMIT = env.str("BSALE_RATE_LIMIT", default="3000/300")  # requests/seconds; "off"
BSALE_RECHECK_DAYS = env.int("BSALE_RECHECK_DAYS", default=7)
BSALE_TIMEOUT = env.float("BSALE_TIMEOUT", default=30.0)  # seconds per request
BSALE_RETRIES = env.int("BSALE_RETRIES", default=6)  # tries per request
BSALE_SYNC_START = env.str("BSALE_SYNC_START", default="2010-01-01")  # first run's first day
BSALE_WINDOW_DAYS = env.int("BSALE_WINDOW_DAYS", default=31)  # documents per emission window
BSALE_SYNC_STALE_SECONDS = env.int("BSALE_SYNC_STALE_SECONDS", default=900)  # dead run's lock
MIRROR_TASK_ATTEMPTS = env.int("MIRROR_TASK_ATTEMPTS", default=5)

# The background queue: django-tasks on the database (docs/mirror.md#the-queue).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Security (production) ------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Larger request bodies get a 413 before any view reads them (common.middleware).
MAX_REQUEST_BODY_BYTES = env.int(
    "MAX_REQUEST_BODY_BYTES",
    default=env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024),
)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# Brute force on the admin login (and the token endpoints): django-axes locks a username
# for the client IP it failed from, after AXES_FAILURE_LIMIT failed logins, for
# AXES_COOLOFF_MINUTES (the right password included). The pair, not the IP alone: behind
# a proxy whose NUM_PROXIES is not set every client has the proxy's address, and ten
# typos would lock everybody out. AXES_LOCKOUT_PARAMETERS: "+" joins parameters into one
# key, "," lists keys that lock independently (e.g. "username,ip_address").
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# Failed logins per client address, whatever the usernames, on every login door
# (common.login_lockout.AddressLoginLimit): over it, a 429 before any password is hashed.
# "N/Ms" like API_THROTTLE_RATE; "off" disables it (AXES_ENABLED=false does too).
LOGIN_FAILURE_RATE = env.str("LOGIN_FAILURE_RATE", default="30/900s").strip() or "off"
if LOGIN_FAILURE_RATE.lower() in {"off", "none"}:
    LOGIN_FAILURE_RATE = None
elif not re.fullmatch(r"\s*\d+\s*/\s*\d*\s*(?:[smhd][a-z]*)?\s*", LOGIN_FAILURE_RATE.lower()):
    raise ImproperlyConfigured("LOGIN_FAILURE_RATE must look like '30/900s' (or 'off').")
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [
    part.split("+") if "+" in part else part
    for part in env.list("AXES_LOCKOUT_PARAMETERS", default=["username+ip_address"])
]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "common.middleware.login_lockout_response"
AXES_CLIENT_IP_CALLABLE = "common.middleware.client_ip"
# Usernames are recorded without NUL and cut to axes' column (PostgreSQL refuses both).
AXES_USERNAME_CALLABLE = "common.login_lockout.axes_username"

# Lines on stderr with the request id, secrets redacted (common/logging.py): readable
# ("plain") in development, one JSON object per line ("json") in production.
LOG_FORMAT = env.str("LOG_FORMAT", default=default_log_format(debug=DEBUG))
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured("LOG_FORMAT must be 'plain' or 'json'.")
LOGGING = logging_config(env.str("LOG_LEVEL", default="INFO"), json_lines=LOG_FORMAT == "json")
