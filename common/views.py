"""Django-level views for API clients: JSON error pages, never HTML, and the health check."""

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


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
