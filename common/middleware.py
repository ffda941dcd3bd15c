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
    """The API answers in English (clients match stable messages); the admin and ``/``
    follow the browser (Spanish by default)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != "/" and not request.path_info.startswith("/admin/"):
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        return self.get_response(request)


# A client's X-Request-ID is kept when it is short and plain (a UUID, a trace id).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}$")
REQUEST_ID_HEADER = "X-Request-ID"
access_logger = logging.getLogger("salesdesk.access")
logger = logging.getLogger(__name__)


def _user_id(request) -> int | None:
    """The user id if authentication already ran (no session is loaded for the log)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = user._wrapped if user._wrapped is not empty else None
    if user is not None and getattr(user, "is_authenticated", False):
        return user.pk
    return None


class RequestIdMiddleware:
    """Each request's id (the client's sane ``X-Request-ID``, else a UUID), returned and
    put on every record logged meanwhile; one structured access line per request."""

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


# The API's paths; the admin and the rest keep Django's pages.
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
    """An error under the API's paths is JSON whatever produced it (with ``DEBUG`` on,
    Django's HTML pages), keeping its status and headers such as ``Allow``."""

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


_CHUNK = 64 * 1024


def _too_large(limit: int) -> JsonResponse:
    return JsonResponse(error_body(payload_too_large_message(limit)), status=413)


def _malformed_body(exc: Exception) -> JsonResponse:
    logger.info("Malformed chunked request body: %s: %s", type(exc).__name__, exc)
    message = "The request body is malformed or incomplete (bad chunked transfer encoding)."
    return JsonResponse(error_body(message), status=400)


class RequestBodyLimitMiddleware:
    """413 for a body over ``MAX_REQUEST_BODY_BYTES`` before any view reads it (DRF's
    parsers skip ``DATA_UPLOAD_MAX_MEMORY_SIZE``); 400 for an unreadable chunked body.
    A chunked body is read here up to the limit and handed on with its length (Django
    would read it as empty)."""

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
                    # gunicorn's InvalidChunkSize, NoMoreData...: the client's error.
                    return _malformed_body(exc)
                request._stream = io.BytesIO(bytes(body))
                request.META["CONTENT_LENGTH"] = str(len(body))
        return self.get_response(request)


NUL_MESSAGE = "The request contains a NUL character (%00), which is not accepted."
_FORM = "application/x-www-form-urlencoded"


class RejectNulMiddleware:
    """400 for a NUL in the path, the query string or a urlencoded form, every door at
    once: PostgreSQL text cannot hold it (a 500 otherwise). JSON bodies: common.parsers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # After URL resolution: a view with its own error shape answers via ``nul_refusal``.
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


class DatabaseUnavailableMiddleware:
    """A database outage in a non-DRF view is a 503 (DRF's: common.errors)."""

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


def client_ip(request) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or with ``NUM_PROXIES`` trusted proxies in
    front, the address the outermost of them saw (the same rule as DRF's throttles)."""
    num_proxies = api_settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if num_proxies and forwarded:
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
        if addresses:
            address = addresses[-min(num_proxies, len(addresses))]
            # axes stores it in an inet column: anything else would be a 500.
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
    """django-axes' 429 with ``Retry-After``: JSON, plain text on the admin for a locked
    account (an address over its limit gets JSON there too: no form is tried)."""
    from axes.helpers import get_cool_off, get_lockout_message

    address_wait = getattr(request, "login_retry_after", None)
    if address_wait is not None:  # common.login_lockout.AddressLoginLimit
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
