"""Read replicas: which database a query goes to (``DATABASE_ROUTERS``).

The primary takes every write and read, except a GET or HEAD of ``REPLICA_READ_PATHS``,
which reads one healthy replica until it writes; a replica failing mid-request costs a
retry on the primary, never a 5xx. docs/deployment.md ("Read replicas") has the rules.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import random
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS

# Replay lag in seconds; 0 when all received is replayed (an idle primary sends nothing).
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
END
"""


@dataclass
class RequestRouting:
    """What one request may read from, and what it did."""

    replica_allowed: bool = False
    wrote: bool = False
    replica: str | None = None  # chosen at the request's first read
    replicas_used: set[str] = field(default_factory=set)


_routing: contextvars.ContextVar[RequestRouting | None] = contextvars.ContextVar(
    "db_routing", default=None
)
# alias -> (monotonic time the verdict expires, healthy?)
_health: dict[str, tuple[float, bool]] = {}


def replica_aliases() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", ()))


def _lag_seconds(alias: str) -> float:
    connection = connections[alias]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            return 0.0  # a test mirror of SQLite: never behind
        cursor.execute(LAG_SQL)
        return float(cursor.fetchone()[0])


def replica_is_healthy(alias: str, *, force: bool = False) -> bool:
    """Whether ``alias`` answers and is close enough behind; cached per process."""
    now = time.monotonic()
    cached = _health.get(alias)
    if cached is not None and cached[0] > now and not force:
        return cached[1]
    try:
        lag = _lag_seconds(alias)
        healthy = lag <= settings.REPLICA_MAX_LAG_SECONDS
        if not healthy:
            logger.warning("Replica %s lags %.1f s: reading the primary", alias, lag)
    except Exception as exc:  # any failure means "not now"
        logger.warning("Replica %s unavailable (%s): reading the primary", alias, exc)
        connections[alias].close_if_unusable_or_obsolete()
        healthy = False
    _health[alias] = (now + settings.REPLICA_HEALTH_SECONDS, healthy)
    return healthy


def mark_down(alias: str) -> None:
    _health[alias] = (time.monotonic() + settings.REPLICA_HEALTH_SECONDS, False)
    with contextlib.suppress(Exception):  # it is broken already
        connections[alias].close()


def reset_health() -> None:
    _health.clear()


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        state = _routing.get()
        if state is None or not state.replica_allowed or state.wrote:
            return PRIMARY
        if state.replica is None:
            # One replica for the whole request: its queries see one consistent state.
            healthy = [alias for alias in replica_aliases() if replica_is_healthy(alias)]
            if not healthy:
                state.replica_allowed = False
                return PRIMARY
            state.replica = random.choice(healthy)
            state.replicas_used.add(state.replica)
        return state.replica

    def db_for_write(self, model, **hints):
        state = _routing.get()
        if state is not None:
            state.wrote = True
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # replicas hold the primary's rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY  # a replica replays the primary's schema


def _replica_allowed(request) -> bool:
    """A GET or HEAD of ``REPLICA_READ_PATHS`` (ending in "/": a prefix; else the path)."""
    if request.method not in ("GET", "HEAD"):
        return False
    path = request.path
    return any(
        path == p or (p.endswith("/") and path.startswith(p)) for p in settings.REPLICA_READ_PATHS
    )


class ReplicaRoutingMiddleware:
    """Sets the request's routing; runs a GET again on the primary if a replica failed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_aliases():
            return self.get_response(request)
        state = RequestRouting(replica_allowed=_replica_allowed(request))
        token = _routing.set(state)
        try:
            response = self.get_response(request)
            if response.status_code == 503 and state.replicas_used:
                failed = [a for a in state.replicas_used if not replica_is_healthy(a, force=True)]
                if failed:
                    for alias in failed:
                        mark_down(alias)
                    logger.warning(
                        "Replica %s failed: %s runs again on the primary", failed, request.path
                    )
                    _routing.set(RequestRouting(replica_allowed=False))
                    response = self.get_response(request)
            return response
        finally:
            _routing.reset(token)
