"""Writes on users. The API, the admin and the commands all change quotas through here."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from common.errors import InvalidInput
from common.money import CENT, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from users.models import AuditEntry, User

MAX_MONEY = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES) - CENT


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
    """A quota as Decimal: >= 0, at most 2 decimals, fits the column."""
    if isinstance(value, bool):
        raise InvalidInput("quota must be a number.", {"quota": ["must be a number"]})
    try:
        quota = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput("quota must be a number.", {"quota": ["must be a number"]}) from None
    if not quota.is_finite() or quota < 0 or quota > MAX_MONEY:
        raise InvalidInput(f"quota must be between 0 and {MAX_MONEY}.", {"quota": ["out of range"]})
    if quota != quota.quantize(CENT):
        raise InvalidInput("quota has more than 2 decimals.", {"quota": ["at most 2 decimals"]})
    return quota.quantize(CENT)


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
