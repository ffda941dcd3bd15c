"""Request-wide concerns shared by the API: language, request ids and access log, body
size limit, database outages as 503, and the admin login lockout's response."""

import io
import ipaddress
import logging
import re
import time
import uuid

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import translation
from django.utils.functional import SimpleLazyObject, empty
from rest_framework.settings import api_settings

from common.errors import (
    DATABASE_RETRY_AFTER,
    DATABASE_UNAVAILABLE,
    error_body,
    is_database_unavailable,
    log_database_unavailable,
    payload_too_large_message,
)
from common.logging import request_id_var


class ApiLanguageMiddleware:
    """The API answers in English; the admin and the landing page ``/`` follow the browser
    (Spanish by default).

    API clients are programs matching on stable messages, while staff read the admin.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != "/" and not request.path_info.startswith("/admin/"):
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        return self.get_response(request)


# --- Request id and access log ------------------------------------------------------------

# A client's X-Request-ID is kept when it is short and plain (a UUID, a trace id).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}$")
REQUEST_ID_HEADER = "X-Request-ID"
access_logger = logging.getLogger("salesdesk.access")
logger = logging.getLogger(__name__)


def _user_id(request) -> int | None:
    """The user id if authentication already ran (never loads a session for the log)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = user._wrapped if user._wrapped is not empty else None
    if user is not None and getattr(user, "is_authenticated", False):
        return user.pk
    return None


class RequestIdMiddleware:
    """Gives each request an id and writes one structured access line for it.

    The id is the client's ``X-Request-ID`` when sane, else a new UUID; it is returned
    in the response's ``X-Request-ID`` and put in ``common.logging.request_id_var``,
    which the logging filter adds to every record logged while the request runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            query = request.META.get("QUERY_STRING", "")
            access_logger.info(
                "%s %s%s %s",
                request.method,
                request.path,
                f"?{query}" if query else "",
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status_code": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": _user_id(request),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


# --- API errors are JSON in every mode ------------------------------------------------------

# The API's paths: the Bsale resources, the token and schema endpoints, the Leancore
# methods, the health check. The admin and the rest keep Django's pages.
API_PATH = re.compile(
    r"/(?:v1|api|oauth2|update-user-sales-history|user|healthz)(?:[/.]|$)", re.IGNORECASE
)
_ERROR_SENTENCES = {
    400: "Bad request.",
    403: "Permission denied.",
    405: "Method not allowed.",
    500: "Internal server error.",
}


class ApiJsonErrorsMiddleware:
    """An error answered under the API's paths is JSON, whatever produced it.

    With ``DEBUG`` on, Django answers an unmatched URL (``/v1/users/%C2%84.json``), a
    bad Host or a crash with its HTML debug pages (the ``handler404``/``handler500``
    views serve only with ``DEBUG`` off). API clients, and the OpenAPI contract, expect
    ``{"error": ...}``: any non-JSON error response under the API's paths is replaced,
    keeping its status and headers such as ``Allow``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
            and API_PATH.match(request.path_info)
        ):
            status = response.status_code
            message = (
                f"Not found: {request.path}."
                if status == 404
                else _ERROR_SENTENCES.get(status, f"{response.reason_phrase}.")
            )
            replaced = JsonResponse(error_body(message), status=status)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    replaced[header] = response[header]
            response.close()
            return replaced
        return response


# --- Request body size ----------------------------------------------------------------------

_CHUNK = 64 * 1024


def _too_large(limit: int) -> JsonResponse:
    return JsonResponse(error_body(payload_too_large_message(limit)), status=413)


def _malformed_body(exc: Exception) -> JsonResponse:
    logger.info("Malformed chunked request body: %s: %s", type(exc).__name__, exc)
    message = "The request body is malformed or incomplete (bad chunked transfer encoding)."
    return JsonResponse(error_body(message), status=400)


class RequestBodyLimitMiddleware:
    """413 for a body over ``MAX_REQUEST_BODY_BYTES``, before any view reads it; 400 for a
    chunked body that cannot be read (bad chunk size, truncated, no final chunk).

    A declared ``Content-Length`` is checked without reading anything. A chunked body
    (no length) is read here, up to the limit plus one byte: over it is a 413, within
    it the body is handed on as if it had come with its length (Django otherwise reads
    a chunked WSGI body as empty). DRF parsers read the stream directly, so Django's
    own ``DATA_UPLOAD_MAX_MEMORY_SIZE`` check alone would not protect the API.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.MAX_REQUEST_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH", "")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                return JsonResponse(error_body("Invalid Content-Length header."), status=400)
            if length > limit:
                return _too_large(limit)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            stream = request.META.get("wsgi.input")
            if stream is not None:
                body = bytearray()
                try:
                    while chunk := stream.read(min(_CHUNK, limit + 1 - len(body))):
                        body += chunk
                        if len(body) > limit:
                            return _too_large(limit)
                except Exception as exc:
                    # A malformed or truncated chunked body (gunicorn: InvalidChunkSize,
                    # NoMoreData, ChunkMissingTerminator...) is the client's error.
                    return _malformed_body(exc)
                request._stream = io.BytesIO(bytes(body))
                request.META["CONTENT_LENGTH"] = str(len(body))
        return self.get_response(request)


# --- NUL characters --------------------------------------------------------------------------

NUL_MESSAGE = "The request contains a NUL character (%00), which is not accepted."
_FORM = "application/x-www-form-urlencoded"


class RejectNulMiddleware:
    """400 for a NUL character in the path, the query string or a urlencoded form body.

    PostgreSQL text can neither hold nor be compared with NUL (psycopg refuses to send
    it: a 500), and no field of this system has a use for it. Refusing it here covers
    every door at once: API filters, the Leancore lookups, the admin's search boxes,
    list filters and autocomplete, and the login forms. (JSON bodies: common.parsers.)
    ``%00`` can only mean NUL: a literal ``%`` is sent as ``%25``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # After URL resolution, so that a view with an error shape of its own (OAuth2's
        # {"error": "invalid_request", ...}) can answer through its ``nul_refusal(errors)``.
        errors = _nul_errors(request)
        if errors is None:
            return None
        custom = getattr(getattr(view_func, "cls", view_func), "nul_refusal", None)
        return custom(errors) if custom is not None else _nul_refused(errors)


def _nul_errors(request) -> dict[str, list[str]] | None:
    if "\x00" in request.path_info:
        return {"path": [_NUL_FIELD_MESSAGE]}
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        return _fields_with_nul(request.GET)
    if request.method == "POST" and request.content_type == _FORM:
        body = request.body  # within MAX_REQUEST_BODY_BYTES (the previous middleware)
        if b"%00" in body or b"\x00" in body:
            return _fields_with_nul(request.POST)
    return None


_NUL_FIELD_MESSAGE = "must not contain NUL characters"


def _fields_with_nul(data) -> dict[str, list[str]]:
    """The parameters (names or values) holding a NUL, each named without it."""
    return {
        key.replace("\x00", "\\x00"): [_NUL_FIELD_MESSAGE]
        for key, values in data.lists()
        if "\x00" in key or any("\x00" in value for value in values)
    }


def _nul_refused(errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse(error_body(NUL_MESSAGE, errors), status=400)


# --- Database faults ------------------------------------------------------------------------


class DatabaseUnavailableMiddleware:
    """A database outage in a non-DRF view (admin, health check) is a 503, not a 500.

    DRF views get the same answer from ``common.errors.exception_handler``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        log_database_unavailable(exception, request)
        response = JsonResponse(error_body(DATABASE_UNAVAILABLE), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response


# --- Client IP and login lockout (django-axes) -----------------------------------------------


def client_ip(request) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or with ``NUM_PROXIES`` trusted proxies in
    front, the address the outermost of them saw (the same rule as DRF's throttles)."""
    num_proxies = api_settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if num_proxies and forwarded:
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
        if addresses:
            address = addresses[-min(num_proxies, len(addresses))]
            # Only an address: django-axes stores it in an inet column on PostgreSQL,
            # which refuses anything else (a 500); a client-written value is no address.
            if _is_ip_address(address):
                return address
    return request.META.get("REMOTE_ADDR")


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def login_lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer once an account is locked: 429 with ``Retry-After``.

    JSON in the API's error shape everywhere but the admin, which gets plain text. An
    address over its failed-login limit gets the JSON everywhere, the admin included (the
    page cannot help: no form, whatever it holds, is tried).
    """
    from axes.helpers import get_cool_off, get_lockout_message

    address_wait = getattr(request, "login_retry_after", None)
    if address_wait is not None:  # common.throttling.AddressLoginLimit
        message = "Too many failed logins from this address; retry later."
        response = JsonResponse(error_body(message), status=429)
        response["Retry-After"] = str(address_wait)
        return response
    cool_off = get_cool_off(request)
    retry_after = int(cool_off.total_seconds()) if cool_off else None
    if request.path_info.startswith("/admin/"):
        response = HttpResponse(
            get_lockout_message(), status=429, content_type="text/plain; charset=utf-8"
        )
    else:
        message = "Too many failed login attempts; this account is locked for a while."
        response = JsonResponse(error_body(message), status=429)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response
