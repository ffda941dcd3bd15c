"""Gunicorn configuration, for development (``make run``) and production alike.

Bsale clients authenticate with an ``access_token`` header. Gunicorn drops header
names with underscores by default, because ``Access-Token`` and ``access_token``
both become ``HTTP_ACCESS_TOKEN`` and a client could smuggle one past a proxy as
the other. We let exactly that one header through (``forwarder_headers``) and no
other underscore header: ``access_token`` is the client's own credential, never a
value a proxy vouches for, and if a client sends both spellings gunicorn joins them
into one value that fails validation (401). Scheme headers are not trusted here;
Django's SECURE_PROXY_SSL_HEADER handles them in production.
"""

import multiprocessing
import os
import sys
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))  # the project's packages, whatever the working directory

from common.logging import gunicorn_logconfig  # noqa: E402 (after sys.path)
from common.serving import DEFAULT_BIND  # noqa: E402

# The same environment as config/settings.py: the optional .env, and DEBUG's default.
env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
_debug = env.bool("DEBUG", default=env.str("DJANGO_ENV", default="development") != "production")

bind = os.environ.get("GUNICORN_BIND", DEFAULT_BIND)
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "sync" if threads == 1 else "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak can never take a worker down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
# Off by default: the app writes its own JSON access line with the request id and with
# secrets masked (common.middleware); gunicorn's would print raw query strings.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# The master and the workers log through the app's formatter (LOG_FORMAT, default plain in
# development, JSON in production), every time in UTC: one zone for every process.
logconfig_dict = gunicorn_logconfig(
    loglevel.upper(),
    json_lines=env.str("LOG_FORMAT", default="plain" if _debug else "json") == "json",
    access=accesslog is not None,
)

# Let the Bsale ``access_token`` header through (see the docstring), from any peer.
forwarded_allow_ips = "*"
forwarder_headers = "ACCESS_TOKEN"
secure_scheme_headers = {}

# Requests gunicorn refuses before the app sees them: a request line over
# limit_request_line (414), more than limit_request_fields headers or one over
# limit_request_field_size bytes (431), or a malformed request line/header (400). Those few
# answers are gunicorn's own small HTML pages, not the API's JSON: in production nginx is
# in front and its limits (and JSON error pages) apply first (docs/security.md).
# Bsale URLs with long fields=/expand= lists fit in 8 KiB.
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", "8190"))
limit_request_fields = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELDS", "100"))
limit_request_field_size = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", "8190"))
