"""Settings for ``make bench`` (bench/): the production settings plus the two references.

Production-like: DEBUG off, the same middleware, authentication, renderer and database
settings as config.settings. On top of them, and only here:

- ``bench.urls`` mounts the app's own URLs unchanged, plus the reference views under
  ``/bench/floor/`` (the least work the contract allows) and ``/bench/usual/`` (DRF
  ModelSerializer + drf-flex-fields), so the same code serves all three in the same run
  (the bench gives the usual approach a gunicorn of its own: bench.run.Servers);
- ``bench.middleware.QueryCountMiddleware`` adds ``X-Query-Count`` (SQL queries of the
  request) to every response, so the bench can check queries per request.

Never used in production: nothing in config.settings refers to this module.
"""

from config.settings import *  # noqa: F403
from config.settings import ALLOWED_HOSTS, CACHES, DATABASES, INSTALLED_APPS, MIDDLEWARE, env

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]

# One Redis for the 1M and the 10M databases: the cache keys carry the database's name, so
# an entry of one (a user's authentication, same id in both) is never read for the other.
CACHES["default"]["KEY_PREFIX"] = f"bench-{DATABASES['default']['NAME']}"
