import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# At start, not at the first request: a Redis older than 7.0 is refused (common.cache).
from common.cache import require_redis_version  # noqa: E402 (needs the settings loaded)

require_redis_version()
