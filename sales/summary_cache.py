"""The API's sales summary served again while it is exact (PostgreSQL).

A dashboard asks for the same summary again and again between writes. Each computed
summary is kept, in the worker's memory, with the database snapshot it was computed under;
the next request checks, in one query, that no transaction that snapshot did not see has
since committed a change to what the summary reads (sales/summary_changes_sql.py), and
serves it only then. Never stale: a write committed before the request started is always in
the answer, whichever host wrote it.

In each worker's memory, not in Redis: a year's summary of 1,000 sellers is ~365 KB, and
the ranges a client may ask for are countless; here the least recently used go first once
``SALES_SUMMARY_CACHE_MB`` is reached (0 turns it off), and a hit costs no round trip.
Not used inside a transaction (a summary computed with the transaction's own uncommitted
writes must not outlive it) nor on SQLite. docs/performance.md, "A summary served again".
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from django.conf import settings

from sales.summary_changes_sql import STILL_EXACT_SQL

# key -> (snapshot, value, size in characters), least recently used first.
_entries: OrderedDict[tuple, tuple[str, Any, int]] = OrderedDict()
_size = 0
_lock = threading.Lock()  # gunicorn's threaded workers share the dict


def _limit() -> int:
    return settings.SALES_SUMMARY_CACHE_MB * 2**20


def usable(connection) -> bool:
    """Whether summaries read through ``connection`` may be kept and served again."""
    return (
        _limit() > 0
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and connection.get_autocommit()
    )


def key(*parts: Any) -> tuple:
    """The key of a summary: its range, seller, base URL, and the amount it sums."""
    return (*parts, settings.SALES_SUMMARY_SUBTOTAL)


def get(cache_key: tuple, connection) -> Any | None:
    """The value kept under ``cache_key`` if it is still exact, else None."""
    with _lock:
        entry = _entries.get(cache_key)
        if entry is None:
            return None
        _entries.move_to_end(cache_key)
    snapshot, value, _ = entry
    with connection.cursor() as cursor:
        cursor.execute(STILL_EXACT_SQL, {"kept": snapshot})
        (exact,) = cursor.fetchone()
    return value if exact else None


def put(cache_key: tuple, snapshot: str, value: Any, *, size: int) -> None:
    """Keep ``value`` (about ``size`` characters), computed under ``snapshot`` (as
    ``summary_changes_sql.with_snapshot_sql`` gives it), dropping the least recently used
    beyond the limit."""
    global _size
    limit = _limit()
    if size > limit:
        return
    with _lock:
        replaced = _entries.pop(cache_key, None)
        if replaced is not None:
            _size -= replaced[2]
        _entries[cache_key] = (snapshot, value, size)
        _size += size
        while _size > limit:
            _, (_, _, dropped) = _entries.popitem(last=False)
            _size -= dropped


def clear() -> None:
    global _size
    with _lock:
        _entries.clear()
        _size = 0


def kept() -> tuple[int, int]:
    """How many summaries are kept, and their size in characters."""
    with _lock:
        return len(_entries), _size
