"""Django-level error pages for API clients: JSON, never an HTML page."""

from django.http import JsonResponse


def not_found(request, exception=None):
    return JsonResponse({"error": f"Not found: {request.path}."}, status=404)


def server_error(request):
    return JsonResponse({"error": "Internal server error."}, status=500)


def bad_request(request, exception=None):
    return JsonResponse({"error": "Bad request."}, status=400)


def permission_denied(request, exception=None):
    return JsonResponse({"error": "Permission denied."}, status=403)
