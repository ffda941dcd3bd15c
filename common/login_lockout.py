"""The login doors' limits (``/api/token/``, ``/oauth2/token``, the admin login): failed
logins per client address (``LOGIN_FAILURE_RATE``) and django-axes' lockout, both checked
before any password is hashed, and credentials no account can have refused first.
"""

from __future__ import annotations

import logging
import math
import time

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache as default_cache
from django.core.exceptions import PermissionDenied
from rest_framework.request import Request

from common.throttling import ApiRateThrottle, RateCount, parse_rate

logger = logging.getLogger(__name__)


# No real password is longer; hashing a longer one only costs CPU.
PASSWORD_MAX_LENGTH = 4096
# django-axes' username column (AccessAttempt.username is a varchar(255)).
AXES_USERNAME_MAX_LENGTH = 255


def username_max_length() -> int:
    user_model = get_user_model()
    return user_model._meta.get_field(user_model.USERNAME_FIELD).max_length or 150


def unusable_credentials(username, password) -> str | None:
    """Why these credentials cannot belong to any account (too long, a NUL), or None:
    refused before django-axes records them and before any password is hashed."""
    if not isinstance(username, str) or not username:
        return "no username"
    if "\x00" in username or (isinstance(password, str) and "\x00" in password):
        return "a NUL character"
    if len(username) > username_max_length():
        return "a username too long"
    if isinstance(password, str) and len(password) > PASSWORD_MAX_LENGTH:
        return "a password too long"
    return None


def axes_username(request, credentials=None) -> str | None:
    """``AXES_USERNAME_CALLABLE``: the username without NUL, cut to axes' column."""
    if credentials:
        username = credentials.get("username")
    else:
        username = getattr(request, "data", None) or getattr(request, "POST", {})
        username = username.get("username") if hasattr(username, "get") else None
    if not isinstance(username, str):
        return None if username is None else str(username)[:AXES_USERNAME_MAX_LENGTH]
    return username.replace("\x00", "")[:AXES_USERNAME_MAX_LENGTH]


class AddressLoginLimit:
    """Failed logins per client address, whatever the usernames (``LOGIN_FAILURE_RATE``):
    axes locks (username, address) pairs, which an address spraying usernames never
    meets while each try costs a password hash (docs/security.md)."""

    key_format = "login-failures:ip:%s"

    def __init__(self) -> None:
        self.limit, self.duration = parse_rate(settings.LOGIN_FAILURE_RATE)

    def _count(self, address: str) -> RateCount:
        return RateCount(self.key_format % address, time.time(), self.duration)

    def retry_after(self, address: str) -> int | None:
        """Seconds to wait when ``address`` is over the limit, else None. Counts nothing."""
        if self.limit is None or not address or not settings.AXES_ENABLED:
            return None
        counted = self._count(address)
        try:
            found = default_cache.get_many([counted.current_key, counted.previous_key])
        except Exception:  # the cache is down: fail open, loudly (as the API limit does)
            logger.warning("Login limit cache unavailable; not checked.", exc_info=True)
            return None
        current = found.get(counted.current_key) or 0
        previous = found.get(counted.previous_key) or 0
        weight = (self.duration - counted.elapsed) / self.duration
        if previous * weight + current < self.limit:
            return None
        wait = ApiRateThrottle._time_to_next_slot(
            self.limit, self.duration, counted.elapsed, previous, current
        )
        return max(1, math.ceil(wait))

    def record_failure(self, address: str) -> None:
        if self.limit is None or not address:
            return
        try:
            self._count(address).count(default_cache)
        except Exception:
            logger.warning("Login limit cache unavailable; failure not counted.", exc_info=True)


def _django_request(request):
    return request._request if isinstance(request, Request) else request


def _client_address(request) -> str | None:
    from common.middleware import client_ip  # the middleware module imports this one

    return client_ip(request)


def _count_failed_login(sender, credentials=None, request=None, **kwargs):
    """Every failed ``authenticate()`` counts for its address, except those the limit
    itself refused (an address that stops trying is let in again)."""
    request = _django_request(request)
    if request is None or getattr(request, "login_retry_after", None):
        return
    AddressLoginLimit().record_failure(_client_address(request))


user_login_failed.connect(_count_failed_login, dispatch_uid="common.login_lockout.address_limit")


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check (a 429), after two refusals that hash no password: an
    address over its limit, unusable credentials. Without a request nothing is checked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        request = _django_request(request)  # simplejwt passes DRF's Request
        retry_after = AddressLoginLimit().retry_after(_client_address(request))
        if retry_after is not None:
            # Answered 429 by common.middleware.login_lockout_response.
            request.login_retry_after = retry_after
            request.axes_locked_out = True
            raise PermissionDenied("Too many failed logins from this address.")
        if unusable_credentials(username, password):
            # Stops every backend; the failure is still signalled, so axes counts it.
            raise PermissionDenied("Unusable credentials.")
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            # Flag the Django request, where axes' middleware looks to answer 429.
            request.axes_locked_out = True
            raise
