"""Rate limit like Bsale's (3,000 requests per 300 s per client), counters in the cache."""

import socket
import threading
import time
import uuid

import pytest
import redis
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.test import APIClient

from common.cache import RedisCache
from common.throttling import ApiRateThrottle, parse_rate
from tests.conftest import token_for

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own; keys get a unique prefix


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379")
# Django's own backend (three round trips per request) and ours (one round trip).
redis_backends = pytest.mark.parametrize(
    "backend_class", [DjangoRedisCache, RedisCache], ids=["django-redis", "one-round-trip"]
)


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def set_rate(settings, rate):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": rate}}


# --- The rate ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("3000/300s", (3000, 300)),
        ("3000/300", (3000, 300)),
        ("10/s", (10, 1)),
        ("100/m", (100, 60)),
        ("100/minute", (100, 60)),
        ("5/2h", (5, 7200)),
        ("1/d", (1, 86400)),
        (" 7 / 30s ", (7, 30)),
        (None, (None, None)),
    ],
)
def test_parse_rate(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["abc", "10", "10/0s", "10/5x", "-1/s", "1.5/s", "10/s/s"])
def test_parse_rate_rejects_nonsense(rate):
    with pytest.raises(ValueError):
        parse_rate(rate)


def test_default_rate_is_bsales(settings):
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api"] == "3000/300s"
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "common.throttling.ApiRateThrottle"
    ]


# --- Through the API --------------------------------------------------------------------------


@pytest.mark.django_db
def test_over_the_limit_is_429_with_retry_after_and_json(settings, auth_client):
    set_rate(settings, "3/60s")
    for _ in range(3):
        assert auth_client.get("/v1/users.json").status_code == 200
    response = auth_client.get("/v1/users.json")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and body["error"].strip()
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60 * 2
    # Every endpoint of the API shares the client's budget.
    assert auth_client.get("/v1/offices/count.json").status_code == 429


@pytest.mark.django_db
def test_the_limit_is_per_user(settings, auth_client, admin_user):
    set_rate(settings, "2/60s")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(admin_user)}")
    for _ in range(2):
        assert auth_client.get("/v1/users/count.json").status_code == 200
    assert auth_client.get("/v1/users/count.json").status_code == 429
    assert other.get("/v1/users/count.json").status_code == 200


@pytest.mark.django_db
def test_anonymous_clients_are_limited_by_ip_and_cannot_spoof_it(settings):
    set_rate(settings, "2/60s")
    client = APIClient()
    body = {"username": "nobody", "password": "wrong-password"}
    for _ in range(2):
        assert (
            client.post("/api/token/", body, format="json", REMOTE_ADDR="10.0.0.1").status_code
            == 401
        )
    # A made-up X-Forwarded-For does not make a new client (NUM_PROXIES = 0).
    response = client.post(
        "/api/token/",
        body,
        format="json",
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="192.0.2.77",
    )
    assert response.status_code == 429
    assert "Retry-After" in response
    assert (
        client.post("/api/token/", body, format="json", REMOTE_ADDR="10.0.0.2").status_code == 401
    )


@pytest.mark.django_db
def test_behind_a_proxy_the_forwarded_address_is_the_client(settings):
    set_rate(settings, "1/60s")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = APIClient()
    body = {"username": "nobody", "password": "wrong-password"}

    def post(forwarded):
        return client.post(
            "/api/token/",
            body,
            format="json",
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    assert post("198.51.100.1").status_code == 401
    assert post("198.51.100.1").status_code == 429
    assert post("198.51.100.2").status_code == 401


@pytest.mark.django_db
def test_rate_off_disables_the_limit(settings, auth_client):
    set_rate(settings, None)
    for _ in range(5):
        assert auth_client.get("/v1/users/count.json").status_code == 200


# --- The sliding window -----------------------------------------------------------------------


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _throttle(rate: str, clock: Clock, backend=None) -> ApiRateThrottle:
    throttle = ApiRateThrottle()
    throttle.rate = rate
    throttle.num_requests, throttle.duration = parse_rate(rate)
    throttle.timer = clock
    if backend is not None:
        throttle.cache = backend
    return throttle


def _anonymous_request(ip="203.0.113.9"):
    from django.contrib.auth.models import AnonymousUser

    request = Request(RequestFactory().get("/v1/users.json", REMOTE_ADDR=ip))
    request.user = AnonymousUser()
    return request


def test_refused_requests_do_not_count_and_the_window_slides():
    clock = Clock(1_000_020.0)  # 20 s into a 100 s window (1_000_000 is a multiple of 100)
    throttle = _throttle("10/100s", clock)
    request = _anonymous_request()
    assert all(throttle.allow_request(request, None) for _ in range(10))
    for _ in range(5):
        assert not throttle.allow_request(request, None)
    # 10 requests in this window: the next slot is when they weigh at most 9 in the next one.
    assert throttle.wait() == 80 + 10

    clock.now += 80 + 9  # 9 s into the next window: 10 * 0.91 = 9.1 > 9
    assert not throttle.allow_request(request, None)
    clock.now += 1.5  # 10.5 s in: 10 * 0.895 = 8.95, room for one
    assert throttle.allow_request(request, None)
    assert not throttle.allow_request(request, None)
    clock.now += 200  # two windows later the slate is clean
    assert all(throttle.allow_request(request, None) for _ in range(10))
    assert not throttle.allow_request(request, None)


@redis_backends
def test_an_unreachable_cache_lets_requests_through(caplog, backend_class):
    dead = backend_class("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.2}})
    throttle = _throttle("1/60s", Clock(1_000_000.0), backend=dead)
    request = _anonymous_request()
    assert throttle.allow_request(request, None)
    assert throttle.allow_request(request, None)
    assert "Throttle cache unavailable" in caplog.text


# --- Redis: every worker shares the counters ----------------------------------------------------


def _redis_cache(prefix: str, backend_class=RedisCache):
    """A cache backend of its own, with its own connection pool: what one worker has."""
    return backend_class(REDIS_URL, {"KEY_PREFIX": prefix})


def _drop_keys(prefix: str) -> None:
    """Delete this test's keys only (never FLUSHDB: the Redis may be shared)."""
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


@needs_redis
@redis_backends
def test_two_workers_share_the_counter_in_redis(backend_class):
    prefix = f"test-throttle-{uuid.uuid4().hex}"
    worker_a, worker_b = _redis_cache(prefix, backend_class), _redis_cache(prefix, backend_class)
    clock = Clock(2_000_010.0)
    throttle_a = _throttle("6/60s", clock, worker_a)
    throttle_b = _throttle("6/60s", clock, worker_b)
    request = _anonymous_request()
    try:
        allowed = [
            (throttle_a if i % 2 else throttle_b).allow_request(request, None) for i in range(10)
        ]
        assert allowed == [True] * 6 + [False] * 4
        assert throttle_a.wait() >= 1 and throttle_b.wait() >= 1
        # The counter is one Redis key, seen alike through both connections.
        key = f"{throttle_a.get_cache_key(request, None)}:{int(clock.now // 60)}"
        assert worker_a.get(key) == worker_b.get(key) == 6
        assert worker_a._cache.get_client(key) is not worker_b._cache.get_client(key)
    finally:
        _drop_keys(prefix)


@needs_redis
@redis_backends
def test_concurrent_workers_never_let_more_than_the_limit_through(backend_class):
    """Eight workers (threads, a connection pool each) hammer one client's budget."""
    prefix = f"test-throttle-{uuid.uuid4().hex}"
    limit, workers, attempts = 100, 8, 40
    clock = Clock(3_000_005.0)
    request = _anonymous_request()
    allowed = []
    lock = threading.Lock()
    backends = [_redis_cache(prefix, backend_class) for _ in range(workers)]

    def worker(backend):
        throttle = _throttle(f"{limit}/60s", clock, backend)
        got = sum(throttle.allow_request(request, None) for _ in range(attempts))
        with lock:
            allowed.append(got)

    threads = [threading.Thread(target=worker, args=(b,)) for b in backends]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sum(allowed) == limit
    finally:
        _drop_keys(prefix)


@needs_redis
@pytest.mark.django_db
def test_the_api_keeps_its_counters_in_redis_when_configured(settings, auth_client, reader):
    prefix = f"test-throttle-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    set_rate(settings, "2/60s")
    try:
        assert auth_client.get("/v1/users/count.json").status_code == 200
        # Another worker (its own connection) counts the same client.
        other_worker = _redis_cache(prefix)
        throttle = _throttle("2/60s", Clock(time.time()), other_worker)
        request = Request(RequestFactory().get("/v1/users.json"))
        request.user = reader
        assert throttle.allow_request(request, None)
        assert not throttle.allow_request(request, None)
        response = auth_client.get("/v1/users/count.json")
        assert response.status_code == 429
        assert int(response["Retry-After"]) >= 1
    finally:
        _drop_keys(prefix)
