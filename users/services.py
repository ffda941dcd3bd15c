"""Writes on users. The API, the admin and the commands all change quotas through here."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction

from common import bsale_values as bv
from common.errors import InvalidInput
from common.money import checked_money
from common.upsert import UpsertResult, upsert_rows
from users.models import AuditEntry, User


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


# --- The Bsale mirror ----------------------------------------------------------------
# Bsale owns a seller's names, email, state and office; everything else on the row
# (quota, the Leancore profile, password, permissions, staff flags, username) is ours
# and never written by a sync. See docs/mirror.md.

BSALE_USERNAME_PREFIX = "bsale-"


def _user_text(name: str):
    max_length = User._meta.get_field(name).max_length

    def parse(value):
        return bv.text(value, max_length)

    return parse


USER_PARSERS = {
    "first_name": ("firstName", _user_text("first_name")),
    "last_name": ("lastName", _user_text("last_name")),
    "email": ("email", _user_text("email")),
    "is_active": ("state", lambda value: bv.state(value) == 0),
    "office_id": ("office", bv.relation_id),
}
USER_FIELDS = list(USER_PARSERS)


def user_values(item: dict) -> tuple[int, dict]:
    """A Bsale user object -> (id, the fields Bsale owns); ``ValueError`` names the bad key."""
    try:
        pk = bv.positive_id(item.get("id"))
    except ValueError as exc:
        raise ValueError(f"id {exc}") from None
    return pk, bv.field_values(item, USER_PARSERS)


def _new_bsale_user(pk: int, values: dict) -> dict:
    # A seller mirrored from Bsale cannot log in until staff give it a password.
    return {"username": f"{BSALE_USERNAME_PREFIX}{pk}", "password": make_password(None)}


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
