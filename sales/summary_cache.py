"""The API's sales summary served again from the cache while it is exact (PostgreSQL).

A dashboard asks for the same summary again and again between writes. Each computed
summary is kept in the cache (``CACHES["default"]``, Redis in production) with the
database snapshot it was computed under; the next request checks, in one query, that no
transaction that snapshot did not see has since committed a change to what the summary
reads (sales/summary_changes_sql.py), and serves it only then. Never stale: a write
committed before the request started is always in the answer, whichever host wrote it.

Not used inside a transaction (a summary computed with the transaction's own uncommitted
writes must not outlive it) nor on SQLite. ``SALES_SUMMARY_CACHE_SECONDS`` = 0 turns it off.
docs/performance.md, "A summary served again", has the figures.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache

from sales.summary_changes_sql import STILL_EXACT_SQL

logger = logging.getLogger(__name__)

# Bump when the cached value's shape changes: entries of an older release are ignored.
VERSION = 1


def usable(connection) -> bool:
    """Whether summaries read through ``connection`` may be kept and served again."""
    return (
        settings.SALES_SUMMARY_CACHE_SECONDS > 0
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )


def key(*parts: Any) -> str:
    """The cache key of a summary: its range, seller, base URL and the amount it sums."""
    text = "|".join(map(str, (*parts, settings.SALES_SUMMARY_SUBTOTAL)))
    return f"sales-summary:{VERSION}:{hashlib.sha1(text.encode()).hexdigest()}"


def get(cache_key: str, connection) -> Any | None:
    """The value kept under ``cache_key`` if it is still exact, else None."""
    try:
        entry = cache.get(cache_key)
    except Exception:  # a cache outage costs a computed summary, never an error
        logger.warning("sales summary cache unreachable on get", exc_info=True)
        return None
    if entry is None:
        return None
    snapshot, value = entry
    with connection.cursor() as cursor:
        cursor.execute(STILL_EXACT_SQL, {"s": snapshot})
        (exact,) = cursor.fetchone()
    return value if exact else None


def put(cache_key: str, snapshot: str, value: Any) -> None:
    """Keep ``value``, computed under ``snapshot`` (``pg_current_snapshot()`` as text)."""
    try:
        cache.set(cache_key, (snapshot, value), settings.SALES_SUMMARY_CACHE_SECONDS)
    except Exception:
        logger.warning("sales summary cache unreachable on set", exc_info=True)
