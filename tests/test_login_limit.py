"""One address cannot burn the CPU through the login doors, nor guess tokens for free.

- Failed logins are limited per client address (``LOGIN_FAILURE_RATE``), whatever the
  usernames, across every login door: over the limit, a 429 JSON with ``Retry-After``
  comes BEFORE any password is hashed (a counting hasher proves it).
- Requests refused for authentication or permission (401/403) count against the
  address's API rate limit, so they too meet a 429.
"""

from __future__ import annotations

import base64
import os
import uuid
from urllib.parse import urlencode

import pytest
import redis
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import token_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "secret-pass-123"  # tests.factories.UserFactory's
LIMIT = 5


class CountingHasher(MD5PasswordHasher):
    """The fast test hasher, counting every hash it computes (encode or verify)."""

    algorithm = "md5"
    calls = 0

    def encode(self, password, salt, *args, **kwargs):
        CountingHasher.calls += 1
        return super().encode(password, salt, *args, **kwargs)


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.LOGIN_FAILURE_RATE = f"{LIMIT}/300s"
    settings.PASSWORD_HASHERS = ["tests.test_login_limit.CountingHasher"]
    CountingHasher.calls = 0


@pytest.fixture
def staff():
    return UserFactory(username="staffer", is_staff=True, is_superuser=True, office=None)


def _random_username() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_login(username, password, address):
    return APIClient().post(
        "/api/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=address,
    )


def oauth_login(username, password, address):
    return APIClient().post(
        "/oauth2/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=_basic(username, password),
        REMOTE_ADDR=address,
    )


def admin_login(username, password, address):
    return Client().post(
        "/admin/login/?next=/admin/",
        urlencode({"username": username, "password": password}),
        content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR=address,
    )


DOORS = {"token": token_login, "oauth2": oauth_login, "admin": admin_login}
FAILED = {"token": 401, "oauth2": 401, "admin": 200}  # the admin shows its form again
OK = {"token": 200, "oauth2": 200, "admin": 302}


def _assert_limited(response):
    assert response.status_code == 429, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    assert "address" in response.json()["error"]
    assert 1 <= int(response["Retry-After"]) <= 2 * 300  # a sliding window: up to two


@pytest.mark.parametrize("door", list(DOORS))
def test_spraying_usernames_from_one_address_meets_a_429_before_any_hashing(staff, door):
    login = DOORS[door]
    for _ in range(LIMIT):
        assert login(_random_username(), "x", "203.0.113.7").status_code == FAILED[door]
    hashed = CountingHasher.calls
    assert hashed >= LIMIT  # each failure hashed (unknown users too: timing parity)
    for _ in range(10):
        _assert_limited(login(_random_username(), "x", "203.0.113.7"))
    # Even the right password: the address is refused, nothing is hashed.
    _assert_limited(login("staffer", PASSWORD, "203.0.113.7"))
    assert CountingHasher.calls == hashed
    # Another address is not affected.
    assert login("staffer", PASSWORD, "198.51.100.1").status_code == OK[door]


def test_failures_count_across_doors(staff):
    address = "203.0.113.9"
    doors = list(DOORS.values())
    for attempt in range(LIMIT):
        doors[attempt % 3](_random_username(), "x", address)
    for login in doors:
        _assert_limited(login(_random_username(), "x", address))


def test_successful_logins_do_not_count(staff):
    for _ in range(LIMIT * 2):
        assert token_login("staffer", PASSWORD, "203.0.113.10").status_code == 200


def test_unusable_credentials_count_too(staff):
    for _ in range(LIMIT):
        assert token_login("a" * 300, "x", "203.0.113.11").status_code == 401
    _assert_limited(token_login("staffer", PASSWORD, "203.0.113.11"))


def test_the_limit_can_be_turned_off(staff, settings):
    settings.LOGIN_FAILURE_RATE = None
    for _ in range(LIMIT * 2):
        assert token_login(_random_username(), "x", "203.0.113.12").status_code == 401


# --- 401/403 count against the address's API rate limit ----------------------------------------


@pytest.fixture
def api_rate(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "5/300s"},
    }


def _assert_throttled(response):
    assert response.status_code == 429, (response.status_code, response.content[:200])
    assert response.json()["error"]
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer not-a-token"},
        {"HTTP_ACCESS_TOKEN": "forged.token.value"},
    ],
    ids=["no token", "forged bearer", "forged access_token"],
)
def test_unauthenticated_requests_meet_the_rate_limit(api_rate, headers):
    client = APIClient()
    for _ in range(5):
        assert (
            client.get("/v1/users.json", REMOTE_ADDR="203.0.113.20", **headers).status_code == 401
        )
    _assert_throttled(client.get("/v1/users.json", REMOTE_ADDR="203.0.113.20", **headers))
    _assert_throttled(client.get("/user?id=x", REMOTE_ADDR="203.0.113.20", **headers))
    # Another address is still answered.
    assert client.get("/v1/users.json", REMOTE_ADDR="203.0.113.21").status_code == 401


def test_forbidden_requests_meet_the_rate_limit(api_rate):
    nobody = UserFactory(username="no-perms", office=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(nobody)}")
    for _ in range(5):
        assert client.get("/v1/offices.json", REMOTE_ADDR="203.0.113.30").status_code == 403
    _assert_throttled(client.get("/v1/offices.json", REMOTE_ADDR="203.0.113.30"))


def test_failed_token_refreshes_meet_the_rate_limit(api_rate):
    client = APIClient()
    for _ in range(5):
        response = client.post(
            "/api/token/refresh/", {"refresh": "x"}, format="json", REMOTE_ADDR="203.0.113.40"
        )
        assert response.status_code == 401
    response = client.post(
        "/api/token/refresh/", {"refresh": "x"}, format="json", REMOTE_ADDR="203.0.113.40"
    )
    _assert_throttled(response)


# --- In Redis, as in production: every worker shares the count --------------------------------

REDIS_URL = os.environ.get("LOGIN_LIMIT_REDIS_URL", "redis://127.0.0.1:6379/4")


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason=f"no Redis at {REDIS_URL}")
def test_the_address_limit_lives_in_redis(staff, settings):
    prefix = f"test-login-limit-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for _ in range(LIMIT):
            assert token_login(_random_username(), "x", "203.0.113.50").status_code == 401
        assert any(b"login-failures" in key for key in client.keys(f"{prefix}*"))
        _assert_limited(token_login("staffer", PASSWORD, "203.0.113.50"))
    finally:
        for key in client.keys(f"{prefix}*"):
            client.delete(key)
