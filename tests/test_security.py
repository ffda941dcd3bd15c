"""Security: JWT algorithms, login lockout (django-axes), request body limit, health check.

Token basics (no token, forged, expired, ``alg: none``, deactivated user) are in
tests/common/test_auth.py; here, algorithm confusion in all its forms.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import socket
import tempfile
import time
from pathlib import Path

import jwt
import pytest
import requests
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.test import Client
from rest_framework.test import APIClient

from common.middleware import RequestBodyLimitMiddleware
from tests.conftest import token_for
from tests.factories import UserFactory
from tests.test_faults import gunicorn

PASSWORD = "secret-pass-123"  # tests.factories.UserFactory's
ATTACKER_KEY = b"an-attacker-chosen-key-of-a-proper-length-0123456789"

# --- JWT: HS256 only ----------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(user) -> dict:
    return jwt.decode(token_for(user), options={"verify_signature": False})


def _raw_token(header: dict, claims: dict, sign) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{sign(signing_input.encode())}"


def _hmac(digest, key: bytes | None = None):
    if key is None:
        key = settings.SIMPLE_JWT["SIGNING_KEY"].encode()
    return lambda data: _b64(hmac.new(key, data, digest).digest())


def _with_real_key(algorithm: str, digest):
    return lambda user: _raw_token({"alg": algorithm, "typ": "JWT"}, _claims(user), _hmac(digest))


CONFUSED_TOKENS = {
    # A valid HMAC signature with the real key, under an algorithm that is not HS256.
    "HS384 with the real key": _with_real_key("HS384", hashlib.sha384),
    "HS512 with the real key": _with_real_key("HS512", hashlib.sha512),
    # The header claims an asymmetric algorithm, the signature is HMAC with the secret.
    "RS256 header, HMAC signature": lambda u: _raw_token(
        {"alg": "RS256", "typ": "JWT"}, _claims(u), _hmac(hashlib.sha256)
    ),
    "ES256 header, HMAC signature": lambda u: _raw_token(
        {"alg": "ES256", "typ": "JWT"}, _claims(u), _hmac(hashlib.sha256)
    ),
    # "none" in every spelling, with and without a signature left in place.
    "alg None": lambda u: _raw_token({"alg": "None", "typ": "JWT"}, _claims(u), lambda d: ""),
    "alg NONE": lambda u: _raw_token({"alg": "NONE", "typ": "JWT"}, _claims(u), lambda d: ""),
    "alg none, real signature kept": lambda u: _raw_token(
        {"alg": "none", "typ": "JWT"}, _claims(u), _hmac(hashlib.sha256)
    ),
    "no alg at all": lambda u: _raw_token({"typ": "JWT"}, _claims(u), _hmac(hashlib.sha256)),
    # HS256, but with the empty key or with a key taken from the token's own header.
    "HS256 with an empty key": lambda u: _raw_token(
        {"alg": "HS256", "typ": "JWT"}, _claims(u), _hmac(hashlib.sha256, b"")
    ),
    "HS256 with an embedded jwk": lambda u: _raw_token(
        {
            "alg": "HS256",
            "typ": "JWT",
            "jwk": {"kty": "oct", "k": _b64(ATTACKER_KEY)},
            "kid": "../../dev/null",
        },
        _claims(u),
        _hmac(hashlib.sha256, ATTACKER_KEY),
    ),
}


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_ACCESS_TOKEN"])
@pytest.mark.parametrize("kind", list(CONFUSED_TOKENS))
def test_only_hs256_with_the_real_key_is_accepted(reader, kind, header):
    token = CONFUSED_TOKENS[kind](reader)
    value = f"Bearer {token}" if header == "HTTP_AUTHORIZATION" else token
    client = APIClient()
    client.credentials(**{header: value})
    response = client.get("/v1/users.json")
    assert response.status_code == 401, (kind, response.content)
    assert "error" in response.json()


def test_the_confusion_helpers_sign_correctly(reader):
    """Guard: the same helpers produce an accepted token when the algorithm is HS256."""
    token = _raw_token({"alg": "HS256", "typ": "JWT"}, _claims(reader), _hmac(hashlib.sha256))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/v1/users.json").status_code == 200


def test_the_algorithm_is_pinned_in_settings():
    assert settings.SIMPLE_JWT["ALGORITHM"] == "HS256"
    assert not settings.SIMPLE_JWT.get("JWK_URL")


@pytest.mark.django_db
def test_token_verify_refuses_confused_tokens(reader):
    for kind in ("HS512 with the real key", "alg None", "RS256 header, HMAC signature"):
        token = CONFUSED_TOKENS[kind](reader)
        response = APIClient().post("/api/token/verify/", {"token": token}, format="json")
        assert response.status_code == 401, kind


# --- Login lockout (django-axes) -----------------------------------------------------------------


@pytest.fixture
def staff(db):
    return UserFactory(username="staffer", is_staff=True, is_superuser=True, office=None)


def _admin_login(client: Client, username: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_lockout_settings():
    assert settings.AXES_FAILURE_LIMIT == 10
    assert dt.timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AUTHENTICATION_BACKENDS[0] == "common.login_lockout.LoginLockoutBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_admin_login_works(staff):
    client = Client()
    response = _admin_login(client, "staffer", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_admin_login_is_locked_after_repeated_failures_even_with_the_right_password(staff):
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(1, limit):
        response = _admin_login(client, "staffer", f"wrong-{attempt}")
        assert response.status_code == 200, attempt  # the form again, with its error
    assert _admin_login(client, "staffer", "wrong-last").status_code == 429
    # Locked: the right password is refused too, and no session is opened.
    response = _admin_login(client, "staffer", PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60
    assert client.get("/admin/").status_code == 302
    # Another account is not locked by this one's failures.
    UserFactory(username="other-staff", is_staff=True, is_superuser=True, office=None)
    assert _admin_login(Client(), "other-staff", PASSWORD).status_code == 302


def test_the_lock_lifts_after_the_cool_off(staff, settings):
    settings.AXES_COOLOFF_TIME = dt.timedelta(seconds=2)
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _admin_login(client, "staffer", f"wrong-{attempt}")
    assert _admin_login(client, "staffer", PASSWORD).status_code == 429
    time.sleep(2.1)
    assert _admin_login(client, "staffer", PASSWORD).status_code == 302


def test_a_success_resets_the_count(staff):
    client = Client()
    for round_ in range(2):
        for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
            assert _admin_login(client, "staffer", f"w{round_}{attempt}").status_code == 200
        assert _admin_login(client, "staffer", PASSWORD).status_code == 302
        client.logout()


def test_simplejwt_token_endpoint_works_and_is_locked_out(staff):
    client = APIClient()
    good = {"username": "staffer", "password": PASSWORD}
    response = client.post("/api/token/", good, format="json")
    assert response.status_code == 200 and response.json()["access"]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        bad = {"username": "staffer", "password": f"wrong-{attempt}"}
        assert client.post("/api/token/", bad, format="json").status_code == 401
    response = client.post("/api/token/", good, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60
    assert "access" not in response.json() and response.json()["error"]


def test_oauth2_token_endpoint_works_and_is_locked_out(staff):
    client = APIClient()

    def token(password):
        return client.post(
            "/oauth2/token",
            "grant_type=client_credentials",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=_basic("staffer", password),
        )

    response = token(PASSWORD)
    assert response.status_code == 200, response.content
    assert response.json()["access_token"]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        assert token(f"wrong-{attempt}").status_code in (401, 429)
    response = token(PASSWORD)
    assert response.status_code == 429
    assert "access_token" not in response.json()
    assert response.json()["error"]


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_the_test_clients_login_still_works(staff):
    """``Client.login()`` authenticates without a request; it must not trip the lockout."""
    client = Client()
    assert client.login(username="staffer", password=PASSWORD)
    assert client.get("/admin/").status_code == 200
    assert not Client().login(username="staffer", password="wrong")


# --- Request body limit (413) ----------------------------------------------------------------------


def _history_body(size: int) -> bytes:
    filler = "x" * max(size - 60, 0)
    return json.dumps({"user_id": "nope", "padding": filler}).encode()


@pytest.mark.django_db
def test_a_body_over_the_limit_is_413_json_before_authentication(settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    client = APIClient()
    response = client.post(
        "/update-user-sales-history", _history_body(5000), content_type="application/json"
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "1000 bytes" in response.json()["error"]
    # Within the limit the request goes on (to the 401: no token).
    response = client.post(
        "/update-user-sales-history", _history_body(500), content_type="application/json"
    )
    assert response.status_code == 401


def test_the_limit_is_configurable():
    assert settings.MAX_REQUEST_BODY_BYTES == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert settings.MAX_REQUEST_BODY_BYTES == 5 * 1024 * 1024  # default; env overrides


def _wsgi_request(body: bytes, **meta) -> WSGIRequest:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/update-user-sales-history",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "application/json",
        **meta,
    }
    return WSGIRequest(environ)


def test_a_chunked_body_over_the_limit_is_413(settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    middleware = RequestBodyLimitMiddleware(lambda request: HttpResponse(request.body))
    response = middleware(_wsgi_request(b"y" * 5000, HTTP_TRANSFER_ENCODING="chunked"))
    assert response.status_code == 413
    assert json.loads(response.content)["error"]


def test_a_chunked_body_within_the_limit_reaches_the_view(settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    middleware = RequestBodyLimitMiddleware(lambda request: HttpResponse(request.body))
    response = middleware(_wsgi_request(b"z" * 1000, HTTP_TRANSFER_ENCODING="chunked"))
    assert response.status_code == 200
    assert response.content == b"z" * 1000


def test_a_malformed_content_length_is_400(settings):
    middleware = RequestBodyLimitMiddleware(lambda request: HttpResponse("no"))
    response = middleware(_wsgi_request(b"", CONTENT_LENGTH="12abc"))
    assert response.status_code == 400


@pytest.fixture(scope="module")
def small_body_server():
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'db.sqlite3'}",
            "MAX_REQUEST_BODY_BYTES": "2000",
        }
        with gunicorn(env) as base:
            yield base


def _raw_http(base: str, raw: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


@pytest.mark.server
def test_through_gunicorn_a_declared_length_over_the_limit_is_413_unread(small_body_server):
    """10 MB announced, nothing sent: the answer comes without waiting for the body."""
    raw = (
        b"POST /update-user-sales-history HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 10000000\r\nConnection: close\r\n\r\n{"
    )
    reply = _raw_http(small_body_server, raw)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:300]
    assert b'"error"' in reply


@pytest.mark.server
def test_through_gunicorn_a_chunked_body_over_the_limit_is_413(small_body_server):
    def body():
        for _ in range(10):
            yield b"a" * 1000

    response = requests.post(
        small_body_server + "/api/token/",
        data=body(),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["error"]


@pytest.mark.server
def test_through_gunicorn_a_small_chunked_body_is_read(small_body_server):
    """Django alone reads a chunked WSGI body as empty; the middleware hands it on."""

    def body():
        yield b"grant_type="
        yield b"password"

    response = requests.post(
        small_body_server + "/oauth2/token",
        data=body(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    # The form was read: an empty one would be "the grant_type parameter is required".
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "unsupported_grant_type"


# --- Health check ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_is_200_ok_on_a_working_database():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_healthz_needs_no_token_and_is_not_cached():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert "X-Request-ID" in response
