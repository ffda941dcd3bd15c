"""Django's Redis cache backend with one client per pool (Django builds one per operation),
and the API's per-request round trip (auth entries and the rate count) on a connection each
thread keeps. Needs Redis 7.0 (``EXPIRE ... NX``). Figures: docs/performance.md.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import redis
from django.core.cache.backends import redis as django_redis
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError, RedisError, ResponseError

logger = logging.getLogger(__name__)

# The round trip's ``EXPIRE ... NX`` needs Redis 7.0.
REDIS_MIN_VERSION = (7, 0)


def redis_version_error(version: str) -> ImproperlyConfigured | None:
    """The error to raise for a Redis server of ``version``; None when it is recent enough."""
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts >= REDIS_MIN_VERSION:
        return None
    need = ".".join(map(str, REDIS_MIN_VERSION))
    return ImproperlyConfigured(
        f"REDIS_URL points at Redis {version}; Redis {need} or later is required "
        "(the API's cache round trip uses EXPIRE ... NX)."
    )


def require_redis_version(cache=None) -> None:
    """At start: refuse a Redis older than 7.0 (an unreachable one is checked later)."""
    from django.core.cache import caches

    cache = caches["default"] if cache is None else cache
    if not isinstance(cache, RedisCache):
        return
    # Timeouts: an unreachable host must not hold up the start.
    client = redis.Redis.from_url(cache._servers[0], socket_connect_timeout=2, socket_timeout=2)
    try:
        version = client.info("server")["redis_version"]
    except RedisError as exc:
        logger.warning("Redis unreachable at start (%s); its version is checked later.", exc)
        return
    finally:
        client.close()
    error = redis_version_error(str(version))
    if error is not None:
        raise error


def bounded_put(mapping: dict, key, value, limit: int) -> None:
    """``mapping[key] = value``, the oldest entries dropped to stay under ``limit``."""
    while len(mapping) >= limit:
        try:
            del mapping[next(iter(mapping))]
        except (KeyError, RuntimeError, StopIteration):  # another thread got there first
            break
    mapping[key] = value


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients[index] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
        self._local = threading.local()

    def _own_connection(self):
        """This thread's connection to the primary server, made anew in a forked child."""
        local, pid = self._local, os.getpid()
        if getattr(local, "pid", None) != pid:
            local.connection = self._cache._get_connection_pool(write=True).make_connection()
            local.pid = pid
        return local.connection

    def get_many_and_count(
        self,
        keys: list[str],
        counter: str,
        previous: str,
        timeout: int,
        *,
        while_waiting: Callable[[], object] | None = None,
    ) -> tuple[dict, int, int]:
        """In one round trip: ``get_many(keys)``, ``counter`` incremented (``timeout`` when
        new), ``previous`` read (0 when missing); ``while_waiting`` runs meanwhile."""
        make_key = self.make_key  # our own keys: no memcached key warnings to look for
        names = [make_key(key) for key in keys]
        names += (make_key(counter), make_key(previous))
        try:
            reply = self._round_trip(names, timeout, while_waiting)
        except ConnectionError:
            # Reconnect once, as redis-py's client retries.
            reply = self._round_trip(names, timeout, None)
        loads = self._cache._serializer.loads
        *values, current, previous = reply
        found = {key: loads(v) for key, v in zip(keys, values, strict=True) if v is not None}
        return found, current, int(previous or 0)

    def _round_trip(
        self, names: list[str], timeout: int, while_waiting: Callable[[], object] | None
    ) -> list:
        """``MGET``, ``INCR``, ``EXPIRE ... NX`` (only a new counter's lifetime) in one write."""
        connection = self._own_connection()
        *entries, counter, previous = names
        commands = [("MGET", *entries, previous), ("INCR", counter)]
        commands.append(("EXPIRE", counter, timeout, "NX"))
        connection.send_packed_command(connection.pack_commands(commands))
        if while_waiting is not None:
            try:
                while_waiting()
            except BaseException:
                connection.disconnect()  # the replies stay unread: start afresh
                raise
        values = connection.read_response()
        current = connection.read_response()
        try:
            connection.read_response()
        except ResponseError:  # Redis < 7.0, not seen at start (it was down then)
            connection.send_command("EXPIRE", counter, timeout)  # no counter kept forever
            connection.read_response()
            raise redis_version_error("older than 7.0") from None
        return [*values[:-1], current, values[-1]]
