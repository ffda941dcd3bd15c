"""``user.has_perm(perm)`` for the API's permission checks, with the authentication backends
made once per process: Django's ``get_backends()`` imports and instantiates each of them on
every call, which costs a check more than the check itself (docs/performance.md). Equal to
the plain path: tests/common/test_fast_perms.py.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.auth import load_backend
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import PermissionDenied


@functools.lru_cache(maxsize=8)
def _backends(paths: tuple[str, ...]) -> tuple:
    # By the setting's value: a changed AUTHENTICATION_BACKENDS (tests) gets its own.
    return tuple(load_backend(path) for path in paths)


def has_perm(user, perm: str) -> bool:
    """What ``user.has_perm(perm)`` answers (Django's ``PermissionsMixin.has_perm``)."""
    if type(user).has_perm is not PermissionsMixin.has_perm:
        return user.has_perm(perm)  # AnonymousUser, or a model with its own rule
    if user.is_active and user.is_superuser:
        return True
    for backend in _backends(tuple(settings.AUTHENTICATION_BACKENDS)):
        if not hasattr(backend, "has_perm"):
            continue
        try:
            if backend.has_perm(user, perm, None):
                return True
        except PermissionDenied:  # a backend may refuse for all of them
            return False
    return False
