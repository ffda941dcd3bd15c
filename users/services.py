"""Writes on users. The API, the admin and the commands all change users through here."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from common import bsale_values as bv
from common.errors import InvalidInput
from common.money import checked_money
from common.upsert import UpsertResult, upsert_rows
from users.models import AuditEntry, User
from users.permissions import CHANGE_SALES_HISTORY, VIEW_USER

# What an integration account may do: read the API and update sales history. Other apps'
# permissions by name (users imports no app above it).
API_CLIENT_PERMISSIONS = (
    VIEW_USER,
    "offices.view_office",
    "sales.view_documenttype",
    "sales.view_document",
    CHANGE_SALES_HISTORY,
)


def audit_record(
    *,
    user: User,
    actor: User | None,
    source: AuditEntry.Source | str,
    field: AuditEntry.Field | str,
    before: Any,
    after: Any,
) -> AuditEntry:
    """Append one entry to the audit trail (who, when, how, before, after)."""
    return AuditEntry.objects.create(
        user=user,
        user_repr=str(user)[:200],
        actor=actor if actor is not None and actor.pk else None,
        actor_repr=(str(actor) if actor is not None else "")[:200],
        source=source,
        field=field,
        before=before,
        after=after,
    )


def quota_parse(value: Any) -> Decimal:
    """A quota as Decimal, by the money columns' rules (``common.money.checked_money``)."""
    try:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            quota = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("must be a number") from None
        return checked_money(quota)
    except ValueError as exc:
        raise InvalidInput(f"quota {exc}.", {"quota": [str(exc)]}) from None


@transaction.atomic
def user_quota_update(
    *, user: User, quota: Decimal, actor: User | None, source: AuditEntry.Source | str
) -> User:
    """Set a user's quota and record the change; a no-op (and no audit row) when equal."""
    quota = quota_parse(quota)
    locked = User.objects.select_for_update().only("id", "quota", "username").get(pk=user.pk)
    before = locked.quota
    if before == quota:
        user.quota = quota
        return user
    User.objects.filter(pk=user.pk).update(quota=quota)
    user.quota = quota
    audit_record(
        user=user,
        actor=actor,
        source=source,
        field=AuditEntry.Field.QUOTA,
        before=str(before),
        after=str(quota),
    )
    return user


@dataclass(frozen=True)
class ApiClientResult:
    user: User
    created: bool
    secret: str | None  # the new client secret; None when it did not change


def _api_client_permissions() -> list[Permission]:
    query = Q()
    for perm in API_CLIENT_PERMISSIONS:
        app_label, codename = perm.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    permissions = list(Permission.objects.filter(query))
    if len(permissions) != len(API_CLIENT_PERMISSIONS):
        found = {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
        missing = sorted(set(API_CLIENT_PERMISSIONS) - found)
        raise InvalidInput(f"Missing permissions (run migrate first): {', '.join(missing)}")
    return permissions


@transaction.atomic
def api_client_upsert(*, name: str, password: str | None, rotate_secret: bool) -> ApiClientResult:
    """Create or update an integration account (active, not staff, the API permissions).

    A new client, or ``rotate_secret``, gets a random secret unless ``password`` is given.
    Refuses staff accounts and passwords the validators reject (``InvalidInput``).
    """
    user = User.objects.select_for_update().filter(username=name).first()
    created = user is None
    if user is not None and (user.is_staff or user.is_superuser):
        raise InvalidInput(f"{name!r} is a staff account, not an API client; choose another name.")
    if created:
        user = User(username=name, first_name="API client", last_name=name)
    new_secret = password
    if new_secret is None and (created or rotate_secret):
        new_secret = secrets.token_urlsafe(32)
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidInput(f"--password: {' '.join(exc.messages)}") from None
    if new_secret is not None:
        user.set_password(new_secret)
    user.is_active = True
    user.is_staff = False
    user.is_superuser = False
    user.save()
    user.user_permissions.add(*_api_client_permissions())
    return ApiClientResult(user=user, created=created, secret=new_secret)


# --- The Bsale mirror ----------------------------------------------------------------
# Bsale owns a seller's names, email, state and office; everything else on the row
# (quota, the Leancore profile, password, permissions, staff flags, username) is ours
# and never written by a sync. See docs/mirror.md.

BSALE_USERNAME_PREFIX = "bsale-"


USER_PARSERS = {
    "first_name": ("firstName", bv.model_text(User, "first_name")),
    "last_name": ("lastName", bv.model_text(User, "last_name")),
    "email": ("email", bv.model_text(User, "email")),
    "is_active": ("state", lambda value: bv.state(value) == 0),
    "office_id": ("office", bv.relation_id),
}
USER_FIELDS = list(USER_PARSERS)


def user_values(item: dict) -> tuple[int, dict]:
    """A Bsale user object -> (id, the fields Bsale owns); ``ValueError`` names the bad key."""
    return bv.record_values(item, USER_PARSERS)


def _new_bsale_user(pk: int, values: dict) -> dict:
    # A seller mirrored from Bsale cannot log in until staff give it a password. What
    # make_password(None) makes ("!" + 40 random characters), from one urandom call
    # instead of 40 secrets.choice calls: a sync creates up to a whole account's users.
    unusable = UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)
    return {"username": f"{BSALE_USERNAME_PREFIX}{pk}", "password": unusable}


def _refuse_superuser(existing: dict) -> str | None:
    # An id collision must never rename or deactivate the administrator's account.
    if existing["is_superuser"]:
        return "a local superuser has this id; it is never overwritten by Bsale"
    return None


@transaction.atomic
def users_upsert(*, items: Iterable[dict], dry_run: bool = False) -> UpsertResult:
    """Create or update sellers from Bsale objects, by Bsale id.

    Deactivation goes through ``User.objects.bulk_update`` -> ``UserQuerySet.update``,
    which invalidates the authentication cache: a user deactivated in Bsale loses its
    tokens here at once. New users get ``bsale-<id>`` and an unusable password.
    """
    rows = dict(user_values(item) for item in items)
    return upsert_rows(
        User,
        rows,
        fields=USER_FIELDS,
        dry_run=dry_run,
        new_row=_new_bsale_user,
        refuse=_refuse_superuser,
        guard_columns=("is_superuser",),
    )
