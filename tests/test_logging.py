"""Structured logs: JSON lines, a request id on every record, no secrets or personal numbers."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from rest_framework.test import APIClient

from common.logging import (
    JsonFormatter,
    PlainFormatter,
    RedactingFilter,
    RequestIdFilter,
    default_log_format,
    logging_config,
    redact,
)
from tests.conftest import token_for

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwidXNlcl9pZCI6IjEifQ."
    "c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
)
ROOT = Path(__file__).resolve().parent.parent
NIT = "900123456-7"
PHONE = "+573001234567"
PASSWORD = "Sup3r-Secret-Passw0rd"


def _console_handler() -> logging.Handler:
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, JsonFormatter | PlainFormatter):
            return handler
    raise AssertionError("no console handler on the root logger: settings.LOGGING not applied")


@pytest.fixture
def json_lines():
    """What the configured console handler writes, as parsed JSON objects."""
    handler = _console_handler()
    stream = io.StringIO()
    old = handler.setStream(stream)
    old_formatter = handler.formatter
    handler.setFormatter(JsonFormatter())  # production's (development prints plain lines)
    lines: list[dict] = []

    def read() -> list[dict]:
        lines[:] = [json.loads(line) for line in stream.getvalue().splitlines() if line]
        return lines

    try:
        yield read
    finally:
        handler.setStream(old)
        handler.setFormatter(old_formatter)


@pytest.fixture
def redacted_caplog(caplog):
    """caplog behind the same filters as the configured handler."""
    for log_filter in _console_handler().filters:
        caplog.handler.addFilter(log_filter)
    caplog.set_level(logging.INFO)
    return caplog


def assert_clean(text: str) -> None:
    assert JWT not in text
    assert JWT.split(".")[1] not in text
    assert PASSWORD not in text
    assert "123456" not in text  # the nit's digits
    assert "3001234567" not in text  # the phone's
    assert "s3cr3t-client" not in text


# --- Redaction ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        (f"Authorization: Bearer {JWT}", [JWT], ["Authorization: "]),
        (f"{{'HTTP_ACCESS_TOKEN': '{JWT}'}}", [JWT], ["HTTP_ACCESS_TOKEN"]),
        (f"access_token={JWT}&limit=5", [JWT], ["limit=5"]),
        (f"a token {JWT} in passing", [JWT], ["in passing"]),
        ('{"password": "hunter22", "username": "ana"}', ["hunter22"], ['"username": "ana"']),
        ("client_secret=s3cr3t-client&grant_type=x", ["s3cr3t-client"], ["grant_type=x"]),
        ("Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", ["YWxhZGRpbjpvcGVuc2VzYW1l"], []),
        (f"nit={NIT}", ["900123456"], ["nit="]),
        (f"phone {PHONE}", ["3001234567"], ["phone"]),
        ("phone +57 300 123 4567", ["300 123 4567"], []),
        ("phone 300-123-4567", ["300-123-4567"], []),
        ("/user?phone=%2B573001234567", ["573001234567"], ["/user?phone=%2B"]),
    ],
)
def test_redact(text, gone, kept):
    result = redact(text)
    for secret in gone:
        assert secret not in result
    for part in kept:
        assert part in result


@pytest.mark.parametrize(
    "text",
    [
        "GET /v1/users.json?limit=25&offset=50 200",
        "2024-03-01T10:30:00-05:00 took 123.4 ms",
        "user 123456 has 12 documents",  # ids and counts of up to 6 digits stay
        "GET /v1/documents/1234567.json 404",  # the status after a number stays apart
    ],
)
def test_redact_leaves_ordinary_text_alone(text):
    if "1234567" in text:
        assert redact(text).endswith(" 404")
    else:
        assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "access_token=abc.def&x=1",
        f"Authorization: Bearer {JWT}",
        f"password=hunter22 nit {NIT} phone +57 300 123 4567",
    ],
)
def test_redacting_twice_changes_nothing(text):
    """The filter redacts the message, the formatter the whole line again."""
    once = redact(text)
    assert redact(once) == once


def test_long_digit_runs_keep_only_their_last_two_digits():
    assert redact("nit 900123456") == "nit *******56"


# --- JSON lines and the request id ----------------------------------------------------------------


def _record(msg, *args, **extra) -> logging.LogRecord:
    record = logging.LogRecord("salesdesk.test", logging.WARNING, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_formatter_writes_one_object_per_line():
    record = _record("hello %s", "world", status_code=200, request=object())
    RequestIdFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "hello world"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "salesdesk.test"
    assert entry["request_id"] == "-"
    assert entry["status_code"] == 200
    assert "request" not in entry  # objects are left out (their repr carries query strings)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])


def test_extras_are_redacted_but_not_the_request_id():
    request_id = "12345678-8b7d-4c2a-9e4f-000000000001"  # digit runs, but not personal data
    record = _record("ok", request_id=request_id, path=f"/user?nit={NIT}")
    entry = json.loads(JsonFormatter().format(record))
    assert entry["request_id"] == request_id
    assert "900123456" not in entry["path"]


def test_exceptions_are_logged_redacted():
    try:
        raise ValueError(f"bad token {JWT} for nit {NIT}")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    RedactingFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError" in entry["exc_info"]
    assert_clean(entry["exc_info"])


def test_the_request_id_is_generated_returned_and_on_every_record(db, json_lines):
    response = APIClient().get("/v1/users.json")  # 401: logged by us and by django.request
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    entries = json_lines()
    access = [e for e in entries if e["logger"] == "salesdesk.access"]
    assert access and access[-1]["request_id"] == request_id
    assert access[-1]["status_code"] == 401 and access[-1]["path"] == "/v1/users.json"
    django_request = [e for e in entries if e["logger"] == "django.request"]
    assert django_request and django_request[-1]["request_id"] == request_id


def test_a_sane_client_request_id_is_kept(db):
    given = "3f2c9a1e-8b7d-4c2a-9e4f-0a1b2c3d4e5f"
    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID=given)
    assert response["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given", ["", "x" * 200, "has space", "new\nline", '"quoted"', "ünïcode", "-leading-dash"]
)
def test_an_odd_client_request_id_is_replaced(db, given):
    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID=given)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_a_request_carrying_secrets_leaves_none_in_the_logs(reader, redacted_caplog, json_lines):
    """A request with a token in both headers, a password in the body, and a nit and a
    phone in the query; the app logs it, and so does a careless developer."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {JWT}", HTTP_ACCESS_TOKEN=JWT)
    body = {"username": "ana", "password": PASSWORD, "client_secret": "s3cr3t-client"}
    response = client.post(f"/api/token/?nit={NIT}&phone={PHONE}", body, format="json")
    assert response.status_code == 401
    careless = logging.getLogger("users.leancore")
    careless.warning("request headers %s body %s", dict(response.wsgi_request.headers), body)
    careless.info("GET /user?nit=%s&phone=%s by %s", NIT, PHONE, f"Bearer {token_for(reader)}")

    assert "headers" in redacted_caplog.text and "/api/token/" in redacted_caplog.text
    assert_clean(redacted_caplog.text)
    written = json_lines()
    assert any(e["logger"] == "users.leancore" for e in written)
    assert_clean(json.dumps(written))
    for entry in written:
        assert entry["request_id"]


def test_logging_settings_use_the_configured_formatter_and_both_filters(settings):
    handler = settings.LOGGING["handlers"]["console"]
    assert handler["formatter"] == settings.LOG_FORMAT
    assert handler["filters"] == ["request_id", "redact"]
    assert settings.MIDDLEWARE[0] == "common.middleware.RequestIdMiddleware"


def _settings_in_a_process(env: dict[str, str]) -> dict:
    """config.settings read fresh in another process with ``env``: LOG_FORMAT and DEBUG."""
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps({'format': settings.LOG_FORMAT, 'debug': settings.DEBUG, "
        "'formatter': settings.LOGGING['handlers']['console']['formatter']}))"
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"LOG_FORMAT", "DEBUG", "DJANGO_ENV", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    environment |= {"DJANGO_SETTINGS_MODULE": "config.settings", **env}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_development_logs_readable_lines_and_production_json():
    assert default_log_format(debug=True) == "plain"
    assert default_log_format(debug=False) == "json"
    assert _settings_in_a_process({}) == {"format": "plain", "debug": True, "formatter": "plain"}
    production = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "api.example.com",
    }
    assert _settings_in_a_process(production)["formatter"] == "json"
    assert _settings_in_a_process({"LOG_FORMAT": "json"})["formatter"] == "json"


def test_plain_lines_are_readable_with_the_request_id_and_redacted():
    config = logging_config("INFO", json_lines=False)
    assert config["formatters"]["plain"] == {"()": "common.logging.PlainFormatter"}
    record = logging.LogRecord("sales", logging.INFO, __file__, 1, "nit %s", (NIT,), None)
    RequestIdFilter().filter(record)
    RedactingFilter().filter(record)
    line = PlainFormatter().format(record)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z INFO    sales \[-\] nit \*+56-7", line
    )


def test_plain_times_are_utc_whatever_the_process_time_zone(monkeypatch):
    """Django sets TZ to TIME_ZONE in gunicorn's workers, not in its master: the lines
    of both must agree."""
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    record.created, record.msecs, record.request_id = 0.0, 0.0, "-"
    for zone in ("America/Lima", "Asia/Tokyo"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        assert PlainFormatter().format(record).startswith("1970-01-01 00:00:00.000Z ")
    monkeypatch.undo()
    time.tzset()


@pytest.mark.server
def test_gunicorn_master_and_workers_log_in_one_time_zone(tmp_path):
    """`make run`'s console: plain lines in development, and every line's time in UTC
    (the master's lines before Django, the workers' after Django set TZ=America/Lima)."""
    from tests.servers import gunicorn

    database_url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    log = tmp_path / "gunicorn.log"
    with (
        open(log, "w") as sink,
        gunicorn({"DATABASE_URL": database_url, "LOG_LEVEL": "INFO"}, stderr=sink) as base,
    ):
        requests.get(base + "/does-not-exist", timeout=10)  # a worker logs a warning
        requests.get(base + "/healthz", timeout=10)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    stamp = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d):\d\d\.\d{3}Z (INFO|WARNING) ")
    starting = next(line for line in lines if "Starting gunicorn" in line)  # the master
    worker = next(line for line in lines if "/does-not-exist" in line)  # a worker
    assert stamp.match(starting) and stamp.match(worker), lines
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    # Same zone: the minutes agree (UTC), not five hours apart.
    assert abs(
        dt.datetime.fromisoformat(stamp.match(worker)[1])
        - dt.datetime.fromisoformat(stamp.match(starting)[1])
    ) <= dt.timedelta(minutes=2)
    assert abs(
        dt.datetime.fromisoformat(stamp.match(worker)[1]) - dt.datetime.fromisoformat(now)
    ) <= dt.timedelta(minutes=2)
    assert not any(line.lstrip().startswith("{") for line in lines)  # no JSON in development
    # One access line per request, the app's: gunicorn's stays off (GUNICORN_ACCESSLOG unset).
    assert [line for line in lines if "/healthz" in line] == [
        line for line in lines if "salesdesk.access" in line and "/healthz" in line
    ]
    assert not any("gunicorn.access" in line for line in lines), lines
