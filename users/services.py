"""Writes on users. The API, the admin and the commands all change quotas through here."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from common.errors import InvalidInput
from common.money import checked_money
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
