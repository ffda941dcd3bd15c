"""Request rate limit like Bsale's (``API_THROTTLE_RATE``, default 3000/300s per client).
The login doors' limits are in ``common.login_lockout``. Counters in the default cache (Redis: shared by workers); a
sliding window from two counters and one atomic ``INCR``, the previous window's count
weighted by its overlap (``SimpleRateThrottle``'s timestamp list loses concurrent counts).
"""

from __future__ import annotations

import functools
import logging
import math
import re
import time

from django.core.cache import cache as default_cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# "3000/300s", "3000/300", "100/m", "100/minute", "5/1h"
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]*)\s*$")


@functools.lru_cache(maxsize=64)  # the same one or two rates on every request
def parse_rate(rate: str | None) -> tuple[int | None, int | None]:
    """``"N/Ms"`` -> ``(N, M seconds)``; units s, m, h, d (or their words); None is no limit."""
    if rate is None:
        return None, None
    match = _RATE.match(rate.lower())
    if not match:
        raise ValueError(f"Invalid throttle rate {rate!r}; expected e.g. '3000/300s'.")
    num, multiplier, unit = match.groups()
    if unit and unit[0] not in _UNITS:
        raise ValueError(f"Invalid throttle rate unit in {rate!r}; use s, m, h or d.")
    duration = (int(multiplier) if multiplier else 1) * _UNITS[unit[0] if unit else "s"]
    if duration <= 0:
        raise ValueError(f"Invalid throttle rate {rate!r}: the period must be positive.")
    return int(num), duration


class RateCount:
    """One request counted in its client's current window (see the module's docstring)."""

    def __init__(self, key: str, now: float, duration: int) -> None:
        window = int(now // duration)
        self.key = key
        self.elapsed = now - window * duration
        self.current_key, self.previous_key = f"{key}:{window}", f"{key}:{window - 1}"
        # Kept two windows: while it is the previous window it still weighs on the count.
        self.timeout = 2 * duration + 1
        self.counts: tuple[int, int] | None = None  # (current, previous) once counted

    def count(self, cache) -> tuple[int, int]:
        if self.counts is None:
            if hasattr(cache, "get_many_and_count"):  # Redis: one round trip
                _, current, previous = cache.get_many_and_count(
                    [], self.current_key, self.previous_key, self.timeout
                )
                self.counts = (current, previous)
            else:
                cache.add(self.current_key, 0, timeout=self.timeout)
                current = cache.incr(self.current_key)  # atomic in the local cache too
                self.counts = (current, cache.get(self.previous_key) or 0)
        return self.counts


class ApiRateThrottle(SimpleRateThrottle):
    """Per client: the user's id, or the client IP (DRF's ``get_ident``) when anonymous.
    An unreachable cache lets requests through, logged: the limit must not take the
    service down."""

    scope = "api"
    cache = default_cache
    cache_format = "throttle:%(scope)s:%(ident)s"
    _wait: float | None = None

    def get_rate(self):
        # At request time: DRF's class attribute is frozen at import.
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}.") from None

    def parse_rate(self, rate):
        return parse_rate(rate)

    def _ident(self, request) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        return f"ip:{self.get_ident(request)}"

    def _key(self, ident: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def get_cache_key(self, request, view):
        return self._key(self._ident(request))

    def allow_request(self, request, view):
        self._wait = None
        if self.rate is None:
            return True
        ident = self._ident(request)
        key = self._key(ident)
        # Counted against its address here: a later refusal is not counted twice. The
        # address is looked up only then (DRF's get_ident builds request.headers).
        request.address_counted = ident.startswith("ip:")
        # Authentication may have counted it already, in its own cache round trip.
        counted = getattr(request, "rate_count", None)
        if counted is None or counted.key != key:
            counted = RateCount(key, self.timer(), self.duration)
        try:
            return self._allow(counted)
        except Exception:  # the cache backend is down: fail open, loudly
            logger.warning("Throttle cache unavailable; request not rate limited.", exc_info=True)
            return True

    @classmethod
    def count_ahead(cls, user_pk) -> RateCount | None:
        """The count for authentication to send in its own round trip; None: no limit."""
        throttle = cls()
        if throttle.rate is None:
            return None
        return RateCount(throttle._key(f"user:{user_pk}"), throttle.timer(), throttle.duration)

    def allow_refusal(self, request) -> bool:
        """Counts a 401/403 against the client ADDRESS: False once over the limit."""
        self._wait = None
        if self.rate is None or getattr(request, "address_counted", False):
            return True
        key = self._key(f"ip:{self.get_ident(request)}")
        try:
            return self._allow(RateCount(key, self.timer(), self.duration))
        except Exception:
            logger.warning("Throttle cache unavailable; refusal not counted.", exc_info=True)
            return True

    def _allow(self, counted: RateCount) -> bool:
        limit, duration = self.num_requests, self.duration
        current, previous = counted.count(self.cache)
        weight = (duration - counted.elapsed) / duration
        if previous * weight + current <= limit:
            return True
        # Refused requests do not count: a client that backs off gets through again.
        self.cache.decr(counted.current_key)
        self._wait = self._time_to_next_slot(
            limit, duration, counted.elapsed, previous, current - 1
        )
        return False

    @staticmethod
    def _time_to_next_slot(limit, duration, elapsed, previous, current) -> float:
        """Seconds until ``previous * weight + current + 1 <= limit`` (no new requests)."""
        room = limit - 1 - current
        if room >= 0 and previous > 0:
            at = duration * (1 - room / previous)
            if at < duration:
                return max(at - elapsed, 0.0)
        wait = duration - elapsed
        if current > limit - 1 and current > 0:
            wait += duration * (1 - (limit - 1) / current)
        return wait

    def wait(self):
        return None if self._wait is None else max(1, math.ceil(self._wait))

    timer = staticmethod(time.time)
