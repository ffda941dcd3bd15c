"""common.fast_perms.has_perm answers exactly what ``user.has_perm`` answers: every kind of
user (active or not, superuser or not, permissions of its own or through a group, none,
anonymous, the API's cached user) x permissions held and not x backend settings (the
project's, Django's alone, one refusing everything first, one without ``has_perm``, one
granting everything)."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.exceptions import PermissionDenied
from django.test import override_settings

from common.authentication import user_with_permissions
from common.fast_perms import has_perm
from tests.factories import UserFactory


class RefusesAll(BaseBackend):
    def has_perm(self, user_obj, perm, obj=None):
        raise PermissionDenied


class GrantsAll(BaseBackend):
    def has_perm(self, user_obj, perm, obj=None):
        return True


class NoPermissions:
    def authenticate(self, request, **credentials):
        return None


MODEL = "django.contrib.auth.backends.ModelBackend"
HERE = "tests.common.test_fast_perms"
BACKENDS = {
    "project": None,
    "model alone": [MODEL],
    "refusal first": [f"{HERE}.RefusesAll", MODEL],
    "refusal last": [MODEL, f"{HERE}.RefusesAll"],
    "no has_perm": [f"{HERE}.NoPermissions", MODEL],
    "grants all": [f"{HERE}.GrantsAll"],
}
PERMS = ("users.view_user", "offices.view_office", "sales.view_document", "nope.nothing")


def _users() -> dict[str, object]:
    group = Group.objects.create(name="readers")
    group.permissions.add(Permission.objects.get(codename="view_office"))
    via_group = UserFactory(username="via-group")
    via_group.groups.add(group)
    built = UserFactory(username="built", perms=["users.view_user"])
    built.groups.add(group)
    return {
        "superuser": UserFactory(username="super", is_superuser=True),
        "inactive superuser": UserFactory(
            username="inactive-super", is_superuser=True, is_active=False
        ),
        "own permission": UserFactory(username="own", perms=["users.view_user"]),
        "via group": via_group,
        "none": UserFactory(username="none"),
        "inactive with permissions": UserFactory(
            username="inactive", is_active=False, perms=["users.view_user"]
        ),
        "anonymous": AnonymousUser(),
        # As authentication builds it: the permission caches already filled.
        "authenticated": user_with_permissions(built.pk),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("backends", list(BACKENDS))
def test_has_perm_equals_the_plain_path(backends):
    users = _users()
    setting = BACKENDS[backends]
    with override_settings(**({} if setting is None else {"AUTHENTICATION_BACKENDS": setting})):
        for name, user in users.items():
            for perm in PERMS:
                plain = user.has_perm(perm)
                assert has_perm(user, perm) == plain, (backends, name, perm, plain)


@pytest.mark.django_db
def test_every_answer_is_seen():
    """The cases above are not all True or all False: both answers are compared."""
    users = _users()
    answers = {has_perm(user, perm) for user in users.values() for perm in PERMS}
    assert answers == {True, False}
