"""Views for API clients: JSON error pages (never HTML), the health check, and the mixin
the project's API views use so that no response outlives its request."""

from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.response import SimpleTemplateResponse
from django.views.decorators.http import require_GET


class ReleasesResponseMixin:
    """Lets each response, and its request's parsed body, be freed as soon as sent.

    DRF keeps a view's response on the view (``self.response``) while the view and its
    request point at each other (``parser_context``, which also holds the request
    itself), and a rendered ``Response`` keeps itself in its own ``renderer_context``:
    reference cycles, so every response, with its data and its body, and every
    request's parsed body stayed in memory until Python's cyclic garbage collector ran
    (encode/django-rest-framework#5826), which for objects that got old during their
    request is seldom. For the sales summary (~360 KB of JSON and its data per request)
    a worker held tens of MB of dead responses, and the fragmented heap kept raising
    its peak RSS (``make bench``'s memory check). Django's own request object stays in
    cycles of its own (sessions, messages, ``auser``); it is small.
    """

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        del self.response  # from here on the handler holds the only reference
        self.request.parser_context = None  # parsing is over
        if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
            response.add_post_render_callback(_forget_renderer_context)
        return response


def _forget_renderer_context(response) -> None:
    # Rendered once and for all: DRF's context (the view, the request and the response
    # itself) has no further use.
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
    """``/``: where the admin's "View site" leads: links to the back office, the API
    docs, the schema and the health check (a page for people; the API lives under /v1/)."""
    return render(request, "home.html")


@require_GET
def favicon(request):
    """Browsers ask every page's host for ``/favicon.ico``: an empty answer, cached for a
    day, instead of a 404 logged as a warning on every admin visit."""
    response = HttpResponse(status=204)
    response["Cache-Control"] = "public, max-age=86400"
    return response
