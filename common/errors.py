"""One error shape for every 4xx/5xx the API returns: ``{"error": "...", "errors": {...}}``."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback


class InvalidInput(Exception):
    """Bad input found by a parser or a service: a 400 with one sentence and ``errors``
    (field -> messages)."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, errors: Mapping[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})


class NotFound(InvalidInput):
    status_code = status.HTTP_404_NOT_FOUND


class Forbidden(InvalidInput):
    """Authenticated but not allowed: a 403 whose ``errors`` name the missing permissions."""

    status_code = status.HTTP_403_FORBIDDEN


logger = logging.getLogger(__name__)

# Database faults: the client can retry, nothing was half-written (every write is atomic).
DATABASE_UNAVAILABLE = "The database is unavailable; retry shortly."
DATABASE_RETRY_AFTER = 5  # seconds
DATABASE_ERRORS = (OperationalError, InterfaceError)


def is_database_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, DATABASE_ERRORS)


def log_database_unavailable(exc: BaseException, request=None) -> None:
    path = getattr(request, "path", "?")
    logger.error("Database unavailable (%s: %s) on %s", type(exc).__name__, exc, path)


def payload_too_large_message(limit: int) -> str:
    return f"The request body is too large; at most {limit} bytes are accepted."


def error_body(message: str, errors: Mapping[str, list[str]] | None = None) -> dict:
    body: dict = {"error": message}
    if errors:
        body["errors"] = dict(errors)
    return body


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested ``detail`` ({"field": ["msg"], "items": [{"x": [...]}]}) as flat paths."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, name))
    elif isinstance(detail, list) and detail and not all(isinstance(d, str) for d in detail):
        for index, value in enumerate(detail):
            flat.update(_flatten(value, f"{prefix}[{index}]"))
    else:
        messages = detail if isinstance(detail, list) else [detail]
        flat[prefix or "non_field_errors"] = [str(m) for m in messages]
    return flat


def _sentence(text: str) -> str:
    text = str(text).strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def invalid_message(errors: Mapping[str, list[str]], *, count_all: bool = False) -> str:
    """A 400's one sentence: ``Invalid quota: must be a number.`` (``count_all``: and how many)."""
    field, messages = next(iter(errors.items()))
    text = f"Invalid {field}: {str(messages[0]).strip()}"
    if count_all and len(errors) > 1:
        text = f"{text.rstrip('.')} ({len(errors)} errors in all)"
    return _sentence(text)


# Refused for who the client is: DRF checks these before its throttles, so they never met
# the rate limit; they are counted against the client's address (guessing tokens, probing
# permissions).
REFUSALS = (401, 403)


def _throttled_refusal(exc, request):
    if request is None:
        return exc
    from common.throttling import ApiRateThrottle  # imports auth and axes: only when needed

    throttle = ApiRateThrottle()
    if throttle.allow_refusal(request):
        return exc
    return exceptions.Throttled(throttle.wait())


def exception_handler(exc, context):
    """DRF exception handler: every error the API raises leaves in the one shape."""
    if is_database_unavailable(exc):
        # Also when authentication itself needed the database (loading the token's user).
        log_database_unavailable(exc, context.get("request"))
        set_rollback()
        return Response(
            error_body(DATABASE_UNAVAILABLE),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if getattr(exc, "status_code", None) in REFUSALS:
        exc = _throttled_refusal(exc, context.get("request"))
    if isinstance(exc, InvalidInput):
        set_rollback()
        return Response(error_body(exc.message, exc.errors), status=exc.status_code)
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer 500 (handler500 keeps it JSON)

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        # Whole seconds, rounded up: "0" would invite the client to retry at once.
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))

    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(detail)
        body = error_body(invalid_message(errors), errors)
    elif isinstance(detail, Mapping):
        # simplejwt puts {"detail": ..., "code": ..., "messages": [...]} here.
        body = error_body(_sentence(detail.get("detail", exc.default_detail)))
    else:
        body = error_body(_sentence(detail))
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)
