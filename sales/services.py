"""Writes on sales data: the user's sales history (Leancore ``update-user-sales-history``).

The API method, the users viewset's ``history`` action, the admin and the
``import_sales_history`` command all write history through ``sales_history_update``,
so the rules and the audit trail are the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from common.errors import InvalidInput
from common.money import CENT
from sales.models import SalesHistoryEntry
from users.models import AuditEntry, User
from users.services import MAX_MONEY, audit_record

MAX_HISTORY_ENTRIES = 10_000
NIT_MAX_LENGTH = SalesHistoryEntry._meta.get_field("nit").max_length
EMC_MAX_LENGTH = SalesHistoryEntry._meta.get_field("emc").max_length
ENTRY_KEYS = ("nit", "monto", "fecha", "emc")


@dataclass(frozen=True, slots=True)
class HistoryEntryData:
    nit: str
    amount: Decimal
    date: datetime  # aware
    emc: str

    @property
    def key(self) -> tuple[str, datetime, str]:
        return (self.nit, self.date, self.emc)


# --- Parsing ----------------------------------------------------------------------------


def _parse_text(value: Any, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    return value


def parse_amount(value: Any) -> Decimal:
    """A JSON number (int or float, not bool), finite, >= 0, at most 2 decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    # repr() is the shortest text that round-trips, so 150000.5 becomes Decimal("150000.5").
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if amount < 0:
        raise ValueError("must be greater than or equal to 0")
    if amount > MAX_MONEY:
        raise ValueError(f"must be at most {MAX_MONEY}")
    if amount != amount.quantize(CENT):
        raise ValueError("must have at most 2 decimals")
    return amount.quantize(CENT)


def parse_datetime_iso(value: Any) -> datetime:
    """ISO 8601 date or datetime; a date or a naive datetime is in the configured time zone."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date or datetime string")
    text = value.strip()
    try:
        if len(text) <= 10:
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an ISO 8601 date or datetime") from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
    return parsed


def parse_history_entry(raw: Any) -> HistoryEntryData:
    """One entry; raises ``InvalidInput`` with field-level errors (no index)."""
    if not isinstance(raw, Mapping):
        raise InvalidInput(
            "must be an object", {"": ["must be an object with nit, monto, fecha, emc"]}
        )
    errors: dict[str, list[str]] = {}
    for key in raw:
        if key not in ENTRY_KEYS:
            errors[str(key)] = ["unknown field"]
    for key in ENTRY_KEYS:
        if key not in raw:
            errors[key] = ["this field is required"]
    parsers = {
        "nit": lambda v: _parse_text(v, "nit", NIT_MAX_LENGTH),
        "monto": parse_amount,
        "fecha": parse_datetime_iso,
        "emc": lambda v: _parse_text(v, "emc", EMC_MAX_LENGTH),
    }
    values: dict[str, Any] = {}
    for key, parser in parsers.items():
        if key in raw:
            try:
                values[key] = parser(raw[key])
            except ValueError as exc:
                errors[key] = [str(exc)]
    if errors:
        raise InvalidInput("invalid entry", errors)
    return HistoryEntryData(
        nit=values["nit"], amount=values["monto"], date=values["fecha"], emc=values["emc"]
    )


def parse_history(raw: Any, *, field: str = "history") -> list[HistoryEntryData]:
    """Validate a whole ``history`` list; every error names the entry's index and field.

    All entries are checked, so one response reports every bad entry at once.
    """
    if not isinstance(raw, list):
        raise InvalidInput(f"{field} must be a list.", {field: ["must be a list"]})
    if len(raw) > MAX_HISTORY_ENTRIES:
        raise InvalidInput(
            f"{field} has {len(raw)} entries; at most {MAX_HISTORY_ENTRIES} are allowed per request.",
            {field: [f"at most {MAX_HISTORY_ENTRIES} entries"]},
        )
    entries: list[HistoryEntryData] = []
    errors: dict[str, list[str]] = {}
    first_seen: dict[tuple, int] = {}
    for index, item in enumerate(raw):
        try:
            entry = parse_history_entry(item)
        except InvalidInput as exc:
            for key, messages in exc.errors.items():
                path = f"{field}[{index}].{key}" if key else f"{field}[{index}]"
                errors[path] = messages
            continue
        if entry.key in first_seen:
            errors[f"{field}[{index}]"] = [
                f"duplicates entry {first_seen[entry.key]} (same nit, fecha and emc)"
            ]
            continue
        first_seen[entry.key] = index
        entries.append(entry)
    if errors:
        path, messages = next(iter(errors.items()))
        more = f" ({len(errors)} errors in all)" if len(errors) > 1 else ""
        raise InvalidInput(f"Invalid {path}: {messages[0]}{more}.", errors)
    return entries


# --- Writing ----------------------------------------------------------------------------


def _entry_json(nit: str, amount: Decimal, when: datetime, emc: str) -> dict[str, str]:
    return {"nit": nit, "monto": str(amount), "fecha": when.isoformat(), "emc": emc}


@transaction.atomic
def sales_history_update(
    *,
    user: User,
    entries: Sequence[HistoryEntryData],
    replace: bool = False,
    actor: User | None,
    source: AuditEntry.Source | str,
) -> dict[str, int]:
    """Merge (or, with ``replace``, set) a user's sales history, all or nothing.

    Merge: an entry whose (nit, fecha, emc) exists updates its amount; a new one is
    added; nothing is removed, so repeating a request changes nothing. Replace: the
    history becomes exactly ``entries``. The user's row is locked for the whole
    transaction, so concurrent updates for one user are serialized and none is lost.
    Returns the counts of created, updated, deleted and unchanged entries.
    """
    keys = [entry.key for entry in entries]
    if len(set(keys)) != len(keys):
        raise InvalidInput("history has duplicate entries (same nit, fecha and emc).")

    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).get()
    existing = {
        (nit, when, emc): (pk, amount)
        for pk, nit, when, emc, amount in SalesHistoryEntry.objects.filter(user=user).values_list(
            "pk", "nit", "date", "emc", "amount"
        )
    }

    now = timezone.now()
    to_write: list[SalesHistoryEntry] = []
    before: list[dict] = []
    after: list[dict] = []
    created = updated = 0
    for entry in entries:
        old = existing.get(entry.key)
        if old is not None and old[1] == entry.amount:
            continue
        if old is None:
            created += 1
        else:
            updated += 1
            before.append(_entry_json(entry.nit, old[1], entry.date, entry.emc))
        after.append(_entry_json(entry.nit, entry.amount, entry.date, entry.emc))
        to_write.append(
            SalesHistoryEntry(
                user=user,
                nit=entry.nit,
                amount=entry.amount,
                date=entry.date,
                emc=entry.emc,
                created_at=now,
                updated_at=now,
            )
        )

    deleted = 0
    if replace:
        wanted = set(keys)
        stale = [(key, pk_amount) for key, pk_amount in existing.items() if key not in wanted]
        if stale:
            SalesHistoryEntry.objects.filter(pk__in=[pk for _key, (pk, _a) in stale]).delete()
            deleted = len(stale)
            before.extend(
                _entry_json(nit, amount, when, emc) for (nit, when, emc), (_pk, amount) in stale
            )

    if to_write:
        # One upsert per batch: INSERT ... ON CONFLICT (user, nit, date, emc) DO UPDATE.
        SalesHistoryEntry.objects.bulk_create(
            to_write,
            update_conflicts=True,
            unique_fields=["user", "nit", "date", "emc"],
            update_fields=["amount", "updated_at"],
            batch_size=2000,
        )

    if to_write or deleted:
        audit_record(
            user=user,
            actor=actor,
            source=source,
            field=AuditEntry.Field.HISTORY,
            before=before,
            after=after,
        )
    return {
        "created": created,
        "updated": updated,
        "deleted": deleted,
        "unchanged": len(entries) - created - updated,
    }
