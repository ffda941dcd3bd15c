"""Authentication's user and permissions, kept between requests in the shared cache, used
only while the user's stamp and the global one are unchanged: every write Django makes to a
user or the permission tables renews them (docs/performance.md has the rules).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from common.cache import bounded_put

logger = logging.getLogger(__name__)

GLOBAL_STAMP_KEY = "auth:stamp"
# This process's copies of shared entries, by user pk: (stamps, snapshot, expires_at).
LOCAL_ENTRIES_MAX = 1024
_local_entries: dict[Hashable, tuple] = {}


def _user_stamp_key(pk: Hashable) -> str:
    return f"auth:stamp:{pk}"


def _entry_key(pk: Hashable) -> str:
    return f"auth:user:{pk}"


def cache_seconds() -> int:
    return settings.AUTH_CACHE_SECONDS


def _new_stamp() -> int:
    # An int: Redis stores it as digits, read back without unpickling.
    return secrets.randbits(63)


def _stamps(pk: Hashable, got: dict) -> tuple[int, int]:
    """Both stamps, creating whichever is missing (first use, or evicted)."""
    stamps = []
    for key in (GLOBAL_STAMP_KEY, _user_stamp_key(pk)):
        stamp = got.get(key)
        if stamp is None:
            stamp = _new_stamp()
            # No timeout on the stamps: an expired stamp would only cost a reload.
            if not cache.add(key, stamp, timeout=None):
                stamp = cache.get(key)
        stamps.append(stamp)
    return stamps[0], stamps[1]


def _valid(entry, stamps: tuple, now: float) -> bool:
    # Another shape (an older release's) is just reloaded.
    return isinstance(entry, tuple) and len(entry) == 3 and entry[0] == stamps and entry[2] > now


def _fetch(keys: list[str], rate_count, while_waiting) -> dict:
    if rate_count is not None and hasattr(cache, "get_many_and_count"):
        got, *counts = cache.get_many_and_count(
            keys,
            rate_count.current_key,
            rate_count.previous_key,
            rate_count.timeout,
            while_waiting=while_waiting,
        )
        rate_count.counts = tuple(counts)
        return got
    return cache.get_many(keys)


def cached(
    pk: Hashable,
    load: Callable[[Hashable], Any | None],
    *,
    rate_count=None,
    while_waiting: Callable[[], object] | None = None,
) -> Any | None:
    """``load(pk)``'s picklable snapshot (None: no such user, never cached), from the cache
    while the stamps are unchanged; ``rate_count`` rides the same round trip (Redis)."""
    seconds = cache_seconds()
    if seconds <= 0:
        return load(pk)
    now = time.time()
    entry_key = _entry_key(pk)
    local = _local_entries.get(pk)
    keys = [GLOBAL_STAMP_KEY, _user_stamp_key(pk)]
    if local is None:
        keys.append(entry_key)
    try:
        got = _fetch(keys, rate_count, while_waiting)
        stamps = (got.get(GLOBAL_STAMP_KEY), got.get(_user_stamp_key(pk)))
        if None not in stamps:
            if local is not None and _valid(local, stamps, now):
                return local[1]
            # Changed since this process stored it: another process may have reloaded it.
            entry = got.get(entry_key) if local is None else cache.get(entry_key)
            if _valid(entry, stamps, now):
                bounded_put(_local_entries, pk, entry, LOCAL_ENTRIES_MAX)
                return entry[1]
        stamps = _stamps(pk, got)
    except Exception:  # the cache is down: authenticate from the database alone
        _local_entries.pop(pk, None)
        logger.warning("Authentication cache unavailable; reading the database.", exc_info=True)
        return load(pk)
    snapshot = load(pk)
    _local_entries.pop(pk, None)
    if snapshot is not None:
        entry = (stamps, snapshot, now + seconds)
        try:
            cache.set(entry_key, entry, timeout=seconds)
        except Exception:
            logger.warning("Authentication cache unavailable; entry not stored.", exc_info=True)
        else:
            bounded_put(_local_entries, pk, entry, LOCAL_ENTRIES_MAX)
    return snapshot


def _restamp(keys: list[str]) -> None:
    try:
        cache.set_many({key: _new_stamp() for key in keys}, timeout=None)
    except Exception:
        # Entries stored before expire by themselves (AUTH_CACHE_SECONDS).
        logger.error("Authentication cache unavailable; stamps not renewed.", exc_info=True)


def invalidate(*, user_pks: list[Hashable] | None = None) -> None:
    """Make cached entries stale: those of ``user_pks``, or all (None); now and on commit."""
    keys = [GLOBAL_STAMP_KEY] if user_pks is None else [_user_stamp_key(pk) for pk in user_pks]
    if not keys:
        return
    _restamp(keys)
    transaction.on_commit(lambda: _restamp(keys))


# The table a data-changing statement writes to, from its first words.
_WRITTEN_TABLE = re.compile(
    r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM"
    r"|TRUNCATE(?:\s+TABLE)?)\s+(?:ONLY\s+)?[\"`]?(\w+)",
    re.IGNORECASE,
)
_permission_tables: frozenset[str] | None = None


def permission_tables() -> frozenset[str]:
    """The tables a user's permissions are read from (common.authentication's query)."""
    global _permission_tables
    if _permission_tables is None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group, Permission
        from django.contrib.contenttypes.models import ContentType

        user_model = get_user_model()
        models = (
            user_model.groups.through,
            user_model.user_permissions.through,
            Group.permissions.through,
            Group,
            Permission,
            ContentType,
        )
        _permission_tables = frozenset(m._meta.db_table.lower() for m in models)
    return _permission_tables


def _invalidate_on_permission_writes(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    match = _WRITTEN_TABLE.match(sql) if isinstance(sql, str) else None
    if match is not None and (
        match.group(1).lower() in permission_tables()
        or match.group(0).lstrip()[:8].upper() == "TRUNCATE"
    ):
        invalidate()  # whose rows changed is not in the statement: every entry
    return result


def watch_permission_tables(sender=None, connection=None, **kwargs) -> None:
    """Add the wrapper to a connection (``connection_created``, and those open already)."""
    if _invalidate_on_permission_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(_invalidate_on_permission_writes)


def user_changed(sender, instance, **kwargs) -> None:
    if instance.pk is not None:
        invalidate(user_pks=[instance.pk])


def all_changed(sender, **kwargs) -> None:
    invalidate()


def user_relations_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """``user.groups`` / ``user.user_permissions`` changed, from either side."""
    if not action.startswith("post_"):
        return
    if reverse:  # group.user_set.add(...), permission.user_set.remove(...)
        invalidate(user_pks=list(pk_set) if pk_set else None)
    else:
        invalidate(user_pks=[instance.pk])
