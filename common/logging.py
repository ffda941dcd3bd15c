"""Structured logs: one JSON object per line, with the request id, and no secrets
(credentials, JWTs and runs of 7+ digits are masked, in messages, tracebacks and extras).

Imports nothing from Django: gunicorn's config uses it before Django is set up.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

REDACTED = "[redacted]"

# Names whose value is a credential (``Authorization: Bearer x``, ``password=x``...).
_SECRET_NAMES = (
    r"(?:http_)?authorization|(?:http_)?access[_-]?token|refresh(?:[_-]?token)?|"
    r"client[_-]?secret|password\d?|passwd|secret|api[_-]?key|(?:http_)?cookie|sessionid|csrftoken"
)
_SECRET_VALUE = re.compile(
    rf"""(?P<name>["']?\b(?:{_SECRET_NAMES})\b["']?\s*[:=]\s*)"""
    r"""(?P<quote>["']?)(?!\[redacted\])(?P<value>(?:(?:bearer|basic|jwt|token)\s+)?[^\s"',;&}\]]+)""",
    re.IGNORECASE,
)
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic|JWT)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
# Three base64url segments, the first one a JSON object ("eyJ" is base64 for '{"').
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
# 7+ digits: a run, groups of 3+ joined by dots or hyphens, or "+57 300 123 4567";
# dates, times and "1234567 200" (a number, then a status) stay apart.
_DIGITS = re.compile(
    r"\+\d{1,3}(?: \d{2,4}){2,4}(?!\d)"
    r"|(?<![\w])\d{3,}(?:[.-]\d{3,})+(?:-\d)?(?![\w])"
    r"|\+?\d{7,}"
)
_MIN_DIGITS = 7


def _mask_digits(match: re.Match) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    if digits < _MIN_DIGITS:
        return text
    return "*" * (digits - 2) + "".join(ch for ch in text if ch.isdigit())[-2:]


def redact(text: str) -> str:
    """``text`` with credentials and long digit runs masked."""
    if not text:
        return text
    text = _SECRET_VALUE.sub(lambda m: f"{m['name']}{m['quote']}{REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _DIGITS.sub(_mask_digits, text)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (the current request's id, ``"-"`` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # django.request logs after the middleware, with the request in ``extra``.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or request_id_var.get()
        return True


class RedactingFilter(logging.Filter):
    """Masks secrets and personal numbers in the message and the exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._redacted = True
        return True


# LogRecord attributes that are not "extra" fields.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "_redacted",
    "color_message",  # uvicorn
}


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", ...extra, "exc_info"?}``:
    scalar extras only (a ``request``'s repr carries query strings), every text redacted
    once more."""

    _NOT_REDACTED = frozenset({"time", "level", "logger", "request_id"})

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key, value in vars(record).items():
            scalar = value is None or isinstance(value, str | int | float | bool)
            if scalar and key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = record.stack_info
        for key, value in entry.items():
            if isinstance(value, str) and key not in self._NOT_REDACTED:
                entry[key] = redact(value)
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """A readable line for a terminal, in UTC (Django changes the process's time zone:
    gunicorn's master and workers would log in two zones)."""

    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


LOG_FORMATS = ("plain", "json")


def default_log_format(*, debug: bool) -> str:
    """Readable lines in development (DEBUG), JSON lines in production."""
    return "plain" if debug else "json"


def logging_config(level: str = "INFO", *, json_lines: bool = True) -> dict:
    """The ``LOGGING`` dict for Django: everything to stderr, through both filters."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "common.logging.RequestIdFilter"},
            "redact": {"()": "common.logging.RedactingFilter"},
        },
        "formatters": {
            "json": {"()": "common.logging.JsonFormatter"},
            "plain": {"()": "common.logging.PlainFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "plain",
                "filters": ["request_id", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own handlers removed: its records go to the root's like any other.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.server": {"handlers": [], "level": level, "propagate": True},
            # django-axes narrates every login attempt at INFO; its warnings are what matter.
            "axes": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


def gunicorn_logconfig(
    level: str = "INFO", *, json_lines: bool = True, access: bool = True
) -> dict:
    """gunicorn's ``logconfig_dict``: its error and access logs as the app's (redacted) lines.

    ``access`` False silences gunicorn's access lines: a ``logconfig_dict`` alone turns them
    on (gunicorn's rule), a second line per request beside the app's own."""
    config = logging_config(level, json_lines=json_lines)
    config["loggers"] = {
        "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
        "gunicorn.access": (
            {"handlers": ["console"], "level": level, "propagate": False}
            if access
            else {"handlers": [], "level": "CRITICAL", "propagate": False}
        ),
    }
    return config
