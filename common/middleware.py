"""Request-wide concerns shared by the API."""

from django.utils import translation


class ApiLanguageMiddleware:
    """The API answers in English; the admin follows the browser (Spanish by default).

    API clients are programs matching on stable messages, while staff read the admin.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/admin/"):
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        return self.get_response(request)
