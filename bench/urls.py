"""The app's own URLs, unchanged, plus the two references (bench settings only).

``/bench/floor/v1/...`` and ``/bench/usual/v1/...`` answer the same requests as
``/v1/...``; their bodies point at the real ``/v1/`` URLs, so all three are comparable
byte for byte. ``/bench/computed/v1/users/sales_summary.json`` is ours with the summary
cache off: what the summary costs on the first request after a write.
"""

from django.test.utils import override_settings
from django.urls import include, path, resolve

from bench import floor_views, usual_views
from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as app_urlpatterns

_summary = resolve("/v1/users/sales_summary.json", urlconf="config.urls").func


def computed_summary(request):
    with override_settings(SALES_SUMMARY_CACHE_MB=0):
        return _summary(request)


# The app's URLs first, so that our endpoints resolve exactly as in production; the
# references come after them (their ``bench/`` paths match none of the app's).
urlpatterns = [
    path("", include(app_urlpatterns)),
    path("bench/computed/v1/users/sales_summary.json", computed_summary),
    *floor_views.urlpatterns,
    *usual_views.urlpatterns,
]
