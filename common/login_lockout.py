"""Login lockout (django-axes): repeated failed logins are refused for a while."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from rest_framework.request import Request


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, first in ``AUTHENTICATION_BACKENDS``.

    Every HTTP login in this project passes the request (the admin, ``/api/token/``,
    ``/oauth2/token``; tests/test_security.py proves each is locked out). A call
    without a request is no HTTP login (a shell, a command, the test client's
    ``login()``): axes cannot tell whom to count, so it is not checked here, instead
    of failing with axes' ``AxesBackendRequestParameterRequired``.

    A locked-out login gets a 429 with ``Retry-After`` (``login_lockout_response``).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        if isinstance(request, Request):  # simplejwt passes DRF's Request
            request = request._request
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            # Flag the Django request, where axes' middleware looks to answer 429.
            request.axes_locked_out = True
            raise
