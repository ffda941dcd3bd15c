"""``common.cache.RedisCache.get_many_and_count``: the API's one round trip per request."""

import uuid

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured

from common.cache import RedisCache, redis_version_error, require_redis_version
from tests.test_throttling import REDIS_URL, needs_redis

pytestmark = needs_redis


@pytest.fixture
def backend():
    prefix = f"test-cache-{uuid.uuid4().hex}"
    backend = RedisCache(REDIS_URL, {"KEY_PREFIX": prefix})
    yield backend
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


def test_reads_entries_and_counts(backend):
    backend.set("a", {"x": 1})
    backend.set("b", "text")
    backend.set("previous", 4)

    found, current, previous = backend.get_many_and_count(
        ["a", "missing", "b"], "current", "previous", 60
    )
    assert found == {"a": {"x": 1}, "b": "text"}
    assert (current, previous) == (1, 4)

    found, current, previous = backend.get_many_and_count([], "current", "nothing-yet", 60)
    assert (found, current, previous) == ({}, 2, 0)
    # The counter is the cache's own integer, and lives as long as it was told to.
    assert backend.get("current") == 2
    assert 0 < backend._cache.get_client().ttl(backend.make_key("current")) <= 60


def test_a_counter_keeps_the_lifetime_it_was_created_with(backend):
    backend.get_many_and_count([], "current", "previous", 60)
    client, key = backend._cache.get_client(), backend.make_key("current")
    client.expire(key, 5)  # five seconds left of its window

    assert backend.get_many_and_count([], "current", "previous", 60)[1] == 2
    assert 0 < client.ttl(key) <= 5  # counting again did not renew it


def test_a_redis_without_expire_nx_is_refused_and_leaves_no_counter_forever(backend, monkeypatch):
    """Redis before 7.0 refuses ``EXPIRE ... NX`` (one that was down at start): a clear
    ImproperlyConfigured, and that request's counter still gets its lifetime."""
    connection = backend._own_connection()
    connection.connect()  # its handshake's replies are not the ones counted below
    real_read = connection.read_response
    replies = []

    def read_response(*args, **kwargs):
        reply = real_read(*args, **kwargs)
        replies.append(reply)
        if len(replies) == 3:  # EXPIRE's reply, as an old Redis words it
            raise redis.exceptions.ResponseError("ERR wrong number of arguments for 'expire'")
        return reply

    monkeypatch.setattr(connection, "read_response", read_response)
    with pytest.raises(ImproperlyConfigured, match=r"Redis 7\.0 or later is required"):
        backend.get_many_and_count(["a"], "c", "p", 60)
    assert 0 < backend._cache.get_client().ttl(backend.make_key("c")) <= 60


@pytest.mark.parametrize(
    ("version", "refused"), [("6.2.14", True), ("5.0.7", True), ("7.0.0", False), ("7.2.4", False)]
)
def test_redis_version_error(version, refused):
    error = redis_version_error(version)
    assert (error is not None) is refused
    if refused:
        assert str(error) == (
            f"REDIS_URL points at Redis {version}; Redis 7.0 or later is required "
            "(the API's cache round trip uses EXPIRE ... NX)."
        )


def test_require_redis_version_accepts_this_redis_and_an_unreachable_one(backend, caplog):
    require_redis_version(backend)  # the Redis the tests run against is 7 or later
    dead = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.2}})
    require_redis_version(dead)
    assert "Redis unreachable at start" in caplog.text


def test_require_redis_version_refuses_an_old_redis(backend, monkeypatch):
    monkeypatch.setattr(redis.Redis, "info", lambda self, section=None: {"redis_version": "6.2.6"})
    with pytest.raises(ImproperlyConfigured, match=r"Redis 6\.2\.6"):
        require_redis_version(backend)


def test_require_redis_version_ignores_other_caches():
    from django.core.cache.backends.locmem import LocMemCache

    require_redis_version(LocMemCache("x", {}))


def test_work_runs_while_redis_answers(backend):
    backend.set("a", 1)
    done = []

    def work():
        # Sent, not yet read: Redis's answer waits on the connection.
        done.append(backend._own_connection().can_read(timeout=1))

    assert backend.get_many_and_count(["a"], "c", "p", 60, while_waiting=work) == (
        {"a": 1},
        1,
        0,
    )
    assert done == [True]


def test_a_failure_while_waiting_leaves_no_reply_behind(backend):
    def failing():
        raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError):
        backend.get_many_and_count([], "c", "p", 60, while_waiting=failing)
    # The next round trip reads its own replies (the first INCR did count).
    assert backend.get_many_and_count([], "c", "p", 60) == ({}, 2, 0)


def test_a_connection_redis_dropped_is_made_again(backend):
    backend.get_many_and_count([], "c", "p", 60)
    own = backend._own_connection()
    own.send_command("CLIENT", "ID")
    client_id = own.read_response()
    redis.Redis.from_url(REDIS_URL).client_kill_filter(_id=client_id)

    assert backend.get_many_and_count([], "c", "p", 60)[1:] == (2, 0)


def test_a_forked_worker_does_not_share_its_parents_connection(backend):
    parent = backend._own_connection()
    backend._local.pid = -1  # what os.getpid() looks like to a forked child

    child = backend._own_connection()
    assert child is not parent
    assert backend.get_many_and_count([], "c", "p", 60)[1] == 1


def test_an_unreachable_redis_raises(backend):
    dead = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.2}})
    with pytest.raises(redis.exceptions.ConnectionError):
        dead.get_many_and_count(["a"], "c", "p", 60)
