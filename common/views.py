"""Views for API clients: JSON error pages (never HTML), the health check, and the mixin
the project's API views use so that no response outlives its request."""

from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.response import SimpleTemplateResponse
from django.views.decorators.http import require_GET


class ReleasesResponseMixin:
    """Breaks DRF's reference cycles (view <-> request, a response in its own context) so
    each response and parsed body is freed as soon as sent, not at the next cyclic GC
    (docs/performance.md)."""

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        del self.response  # from here on the handler holds the only reference
        self.request.parser_context = None  # parsing is over
        if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
            response.add_post_render_callback(_forget_renderer_context)
        return response


def _forget_renderer_context(response) -> None:
    response.renderer_context = None


def not_found(request, exception=None):
    return JsonResponse({"error": f"Not found: {request.path}."}, status=404)


def server_error(request):
    return JsonResponse({"error": "Internal server error."}, status=500)


def bad_request(request, exception=None):
    return JsonResponse({"error": "Bad request."}, status=400)


def permission_denied(request, exception=None):
    return JsonResponse({"error": "Permission denied."}, status=403)


@require_GET
def healthz(request):
    """For load balancers: 200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})


@require_GET
def home(request):
    """``/``, the admin's "View site": links to the back office, API docs and health check."""
    return render(request, "home.html")


@require_GET
def favicon(request):
    """An empty, cached answer instead of a 404 logged on every admin visit."""
    response = HttpResponse(status=204)
    response["Cache-Control"] = "public, max-age=86400"
    return response
