"""Writes on sales data: the user's sales history (Leancore ``update-user-sales-history``).

The API method, the ``history`` action and the ``import_sales_history`` command write
history through ``sales_history_update``; the admin's entry pages and the user page's
inline through ``history_entry_save``, ``history_entries_delete`` and
``history_entries_edit``. Each records the change in the audit trail.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from common import bsale_values as bv
from common.errors import InvalidInput, invalid_message
from common.money import checked_money
from common.upsert import UpsertResult, upsert_rows
from sales import history_sql
from sales.models import Document, DocumentType, DocumentUse, SalesHistoryEntry
from users.models import AuditEntry, User
from users.services import audit_record

MAX_HISTORY_ENTRIES = 10_000
# A user's whole history is bounded (settings.SALES_HISTORY_MAX_ENTRIES_PER_USER, default
# this): every write and every GET /user answers all of it. docs/history.md has the timings.
DEFAULT_MAX_ENTRIES_PER_USER = 20_000
NIT_MAX_LENGTH = SalesHistoryEntry._meta.get_field("nit").max_length
EMC_MAX_LENGTH = SalesHistoryEntry._meta.get_field("emc").max_length
ENTRY_KEYS = ("nit", "monto", "fecha", "emc")
# Primary keys per DELETE ... WHERE id IN (...) when ``replace`` removes old entries.
DELETE_BATCH_SIZE = 10_000


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
# Each parser raises ValueError with a short message; callers name the field (and the
# entry's index or the file's line) around it.

# A JSON number written as text (what a CSV cell holds): no "NaN", "1_000", "1,5", "0x10".
_AMOUNT_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _parse_text(value: Any, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    if "\x00" in value:  # PostgreSQL refuses NUL in text: a 400 here, not a 500 there
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")  # JSON's "\ud800" is a lone surrogate no database can store
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def safe_name(key: Any) -> str:
    """A client-sent key, printable in an error (lone surrogates escaped, so the JSON
    renderer never fails on it)."""
    return str(key).encode("utf-8", "backslashreplace").decode("utf-8")


def parse_amount(value: Any) -> Decimal:
    """A JSON number (int or float, not bool), finite, >= 0, at most 2 decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    # repr() is the shortest text that round-trips, so 150000.5 becomes Decimal("150000.5").
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return checked_money(amount)


def parse_amount_text(value: Any) -> Decimal:
    """An amount written as text (a CSV cell): the same rules as ``parse_amount``."""
    if not isinstance(value, str):
        raise ValueError("must be a number")
    text = value.strip()
    if not _AMOUNT_TEXT.fullmatch(text):
        raise ValueError("must be a number")
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
        raise ValueError("must be a number") from None
    return checked_money(amount)


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
    local_tz = timezone.get_default_timezone()
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, local_tz)
    try:
        # Stored in UTC and shown in the configured zone: both must exist (year 1..9999).
        parsed.astimezone(UTC)
        parsed.astimezone(local_tz)
    except OverflowError:
        raise ValueError("is out of range") from None
    return parsed


def parse_user_uuid(value: Any) -> uuid.UUID:
    """A Leancore ``user_id``: a UUID string (with or without hyphens)."""
    if not isinstance(value, str):
        raise ValueError("must be a UUID string")
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise ValueError("must be a UUID") from None


def parse_history_entry(raw: Any, *, amount_parser=parse_amount) -> HistoryEntryData:
    """One entry; raises ``InvalidInput`` with field-level errors (no index).

    ``amount_parser`` is ``parse_amount`` for JSON; the CSV import passes
    ``parse_amount_text`` because a CSV cell is text.
    """
    if not isinstance(raw, Mapping):
        raise InvalidInput(
            "must be an object", {"": ["must be an object with nit, monto, fecha, emc"]}
        )
    errors: dict[str, list[str]] = {}
    for key in raw:
        if key not in ENTRY_KEYS:
            errors[safe_name(key)] = ["unknown field"]
    for key in ENTRY_KEYS:
        if key not in raw:
            errors[key] = ["this field is required"]
    parsers = {
        "nit": lambda v: _parse_text(v, "nit", NIT_MAX_LENGTH),
        "monto": amount_parser,
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
        raise InvalidInput(invalid_message(errors, count_all=True), errors)
    return entries


# --- Writing ----------------------------------------------------------------------------


def history_entry_json(nit: str, amount: Decimal, when: datetime, emc: str) -> dict[str, str]:
    """One history entry as the audit trail stores it (every writer uses this shape)."""
    when = timezone.localtime(when, timezone.get_default_timezone())
    return {"nit": nit, "monto": str(amount), "fecha": when.isoformat(), "emc": emc}


_Key = tuple[str, datetime, str]


@dataclass
class _Plan:
    """What a history update does, computed before anything is written."""

    upserts: list[HistoryEntryData] = field(default_factory=list)
    stale: list[tuple[_Key, int, Decimal]] = field(default_factory=list)  # (key, pk, amount)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    before: list[dict] = field(default_factory=list)
    after: list[dict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": len(self.stale),
            "unchanged": self.unchanged,
        }


def _check_no_duplicates(entries: Sequence[HistoryEntryData]) -> None:
    keys = {entry.key for entry in entries}
    if len(keys) != len(entries):
        raise InvalidInput("history has duplicate entries (same nit, fecha and emc).")


def _existing_history(
    user: User, entries: Sequence[HistoryEntryData] | None = None
) -> tuple[dict[_Key, tuple[int, Decimal]], int]:
    """The user's entries by key, and how many the user has.

    A merge only needs the entries it touches: given ``entries``, on PostgreSQL only
    those with the same keys are read (the four arrays joined on the unique index) and
    the rest is counted, so a small merge into the largest history stays small. Elsewhere,
    and for a replace (``entries`` None), the whole history is read.
    """
    rows = SalesHistoryEntry.objects.filter(user_id=user.pk)
    connection = connections[router.db_for_read(SalesHistoryEntry)]
    if entries is not None and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                history_sql.matching_entries_sql(connection),
                [
                    user.pk,
                    [entry.nit for entry in entries],
                    [entry.date for entry in entries],
                    [entry.emc for entry in entries],
                    user.pk,
                ],
            )
            found = cursor.fetchall()
        existing = {
            (nit, when, emc): (pk, amount)
            for pk, nit, when, emc, amount, _n in found
            if pk is not None
        }
        return existing, found[0][5]
    existing = {
        (nit, when, emc): (pk, amount)
        for pk, nit, when, emc, amount in rows.values_list("pk", "nit", "date", "emc", "amount")
    }
    return existing, len(existing)


def _plan(
    existing: Mapping[_Key, tuple[int, Decimal]],
    entries: Sequence[HistoryEntryData],
    replace: bool,
) -> _Plan:
    plan = _Plan()
    for entry in entries:
        old = existing.get(entry.key)
        if old is not None and old[1] == entry.amount:
            plan.unchanged += 1
            continue
        if old is None:
            plan.created += 1
        else:
            plan.updated += 1
            plan.before.append(history_entry_json(entry.nit, old[1], entry.date, entry.emc))
        plan.after.append(history_entry_json(entry.nit, entry.amount, entry.date, entry.emc))
        plan.upserts.append(entry)
    if replace:
        wanted = {entry.key for entry in entries}
        plan.stale = [
            (key, pk, amount) for key, (pk, amount) in existing.items() if key not in wanted
        ]
        plan.before.extend(
            history_entry_json(nit, amount, when, emc)
            for (nit, when, emc), _pk, amount in plan.stale
        )
    return plan


def max_entries_per_user() -> int:
    return getattr(settings, "SALES_HISTORY_MAX_ENTRIES_PER_USER", DEFAULT_MAX_ENTRIES_PER_USER)


def _check_bound(existing: int, plan: _Plan) -> None:
    """400 when the history would outgrow the per-user bound (nothing is written)."""
    bound = max_entries_per_user()
    would_be = existing + plan.created - len(plan.stale)
    if would_be > bound and would_be > existing:
        raise InvalidInput(
            f"The user's history would have {would_be} entries (it has {existing}); "
            f"at most {bound} are allowed per user.",
            {"history": [f"would have {would_be} entries; at most {bound} per user"]},
        )


def check_history_room(*, user_pk: int, adding: int, removing: int = 0) -> None:
    """The bound for writers that add entries one by one (the admin's forms): a 400-style
    ``InvalidInput`` when ``adding`` more (and ``removing`` some) would pass it."""
    if adding <= removing:
        return
    existing = SalesHistoryEntry.objects.filter(user_id=user_pk).count()
    plan = _Plan(created=adding)
    plan.stale = [None] * removing  # only counted
    _check_bound(existing, plan)


def _batches(items: Iterable, size: int):
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def sales_history_preview(
    *, user: User, entries: Sequence[HistoryEntryData], replace: bool = False
) -> dict[str, int]:
    """What ``sales_history_update`` would do (created/updated/deleted/unchanged), read-only."""
    _check_no_duplicates(entries)
    existing, count = _existing_history(user, None if replace else entries)
    plan = _plan(existing, entries, replace)
    _check_bound(count, plan)
    return plan.counts()


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

    Queries: the lock, one read of the user's history, one upsert per
    ``history_sql.UPSERT_BATCH_SIZE`` changed entries, one delete per ``DELETE_BATCH_SIZE`` removed
    ones, and the audit row when something changed.
    """
    _check_no_duplicates(entries)

    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).get()
    existing, count = _existing_history(user, None if replace else entries)
    plan = _plan(existing, entries, replace)
    # Under the row lock: concurrent merges cannot both pass the bound.
    _check_bound(count, plan)

    for batch in _batches((pk for _key, pk, _amount in plan.stale), DELETE_BATCH_SIZE):
        SalesHistoryEntry.objects.filter(pk__in=batch).delete()

    if plan.upserts:
        history_sql.upsert(user_pk=user.pk, entries=plan.upserts, now=timezone.now())

    if plan.upserts or plan.stale:
        audit_record(
            user=user,
            actor=actor,
            source=source,
            field=AuditEntry.Field.HISTORY,
            before=plan.before,
            after=plan.after,
        )
    return plan.counts()


def _entry_audit(entry: SalesHistoryEntry) -> dict[str, str]:
    return history_entry_json(entry.nit, entry.amount, entry.date, entry.emc)


def _entry_values(entry: SalesHistoryEntry) -> tuple:
    return (entry.user_id, entry.nit, entry.amount, entry.date, entry.emc)


def _audit_history(*, user: User, actor: User | None, source, before: list, after: list) -> None:
    if before or after:
        audit_record(
            user=user,
            actor=actor,
            source=source,
            field=AuditEntry.Field.HISTORY,
            before=before,
            after=after,
        )


def _stored_entries(pks: Iterable[int | None]) -> dict[int, SalesHistoryEntry]:
    pks = [pk for pk in pks if pk is not None]
    if not pks:
        return {}
    rows = SalesHistoryEntry.objects.select_for_update().filter(pk__in=pks)
    return {row.pk: row for row in rows}


@transaction.atomic
def history_entry_save(
    *, entry: SalesHistoryEntry, actor: User | None, source: AuditEntry.Source | str
) -> SalesHistoryEntry:
    """Create or change one history entry and record it (nothing recorded if unchanged).

    Moving an entry to another user is recorded as a deletion from the first user's
    history and an addition to the second's.
    """
    stored = _stored_entries([entry.pk]).get(entry.pk)
    entry.save()
    if stored is None:
        _audit_history(
            user=entry.user, actor=actor, source=source, before=[], after=[_entry_audit(entry)]
        )
    elif _entry_values(stored) != _entry_values(entry):
        if stored.user_id != entry.user_id:
            _audit_history(
                user=stored.user,
                actor=actor,
                source=source,
                before=[_entry_audit(stored)],
                after=[],
            )
            _audit_history(
                user=entry.user, actor=actor, source=source, before=[], after=[_entry_audit(entry)]
            )
        else:
            _audit_history(
                user=entry.user,
                actor=actor,
                source=source,
                before=[_entry_audit(stored)],
                after=[_entry_audit(entry)],
            )
    return entry


@transaction.atomic
def history_entries_delete(
    *, entries: Iterable[SalesHistoryEntry], actor: User | None, source: AuditEntry.Source | str
) -> int:
    """Delete history entries of any users; one audit entry per user. Returns how many."""
    by_user: dict[int, list] = {}
    users: dict[int, User] = {}
    pks = []
    for entry in entries:
        pks.append(entry.pk)
        users[entry.user_id] = entry.user
        by_user.setdefault(entry.user_id, []).append(_entry_audit(entry))
    deleted = 0
    for batch in _batches(pks, DELETE_BATCH_SIZE):
        deleted += SalesHistoryEntry.objects.filter(pk__in=batch).delete()[0]
    for user_id, before in by_user.items():
        _audit_history(user=users[user_id], actor=actor, source=source, before=before, after=[])
    return deleted


@transaction.atomic
def history_entries_edit(
    *,
    user: User,
    saved: Sequence[SalesHistoryEntry],
    deleted: Sequence[SalesHistoryEntry],
    actor: User | None,
    source: AuditEntry.Source | str,
) -> None:
    """Save (new or changed) and delete some of one user's entries: one audit entry for all.

    ``before`` lists the stored values of the changed and deleted entries, newest first
    (the admin inline's order); ``after`` the saved entries, in the order given.
    """
    stored = _stored_entries(entry.pk for entry in [*saved, *deleted])
    before = sorted(stored.values(), key=lambda entry: (entry.date, entry.pk), reverse=True)
    for batch in _batches((entry.pk for entry in deleted), DELETE_BATCH_SIZE):
        SalesHistoryEntry.objects.filter(pk__in=batch).delete()
    for entry in saved:
        entry.save()
    _audit_history(
        user=user,
        actor=actor,
        source=source,
        before=[_entry_audit(entry) for entry in before],
        after=[_entry_audit(entry) for entry in saved],
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def history_key_digest(user_pk_or_uuid: Any, entry: HistoryEntryData) -> int:
    """A 64-bit fingerprint of (user, nit, fecha, emc), for duplicate checks over big files.

    Equal keys give equal fingerprints within one process (the instant, not its offset,
    counts); different keys collide with negligible probability, and callers confirm a
    match on the real keys before reporting it.
    """
    micros = (entry.date - _EPOCH) // timedelta(microseconds=1)
    return hash((user_pk_or_uuid, entry.nit, micros, entry.emc))


def rebuild_sales_totals(*, progress=None) -> int:
    """Recompute the sales totals from the documents, in one transaction: readers see the
    old totals until it commits, never a half rebuild; writers of documents wait (their
    triggers would otherwise race the rebuild). Batches of one month of emission dates;
    ``progress(total)`` returns a bar (``update(n)``, ``close()``) as seed_demo's do.
    Returns the number of daily rows."""
    from sales import seller_names_sql, totals_sql
    from sales.models import Document, SalesDailyTotal

    using = router.db_for_write(Document)
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {totals_sql.DOCUMENTS} IN SHARE MODE")
        batches = sales_totals_batches(using)
        bar = progress(len(batches)) if progress is not None else None
        statements = totals_sql.rebuild_statements(connection.vendor, batches)
        for statement, params in statements + seller_names_sql.rebuild_statements():
            cursor.execute(statement, params)
            if bar is not None and params:
                bar.update(1)
        if bar is not None:
            bar.close()
        return SalesDailyTotal.objects.using(using).count()


def sales_totals_batches(using: str = "default") -> list[tuple[date, date]]:
    """The months that hold documents, as (first day, last day) ranges."""
    from django.db.models import Max, Min

    from sales.models import Document

    bounds = Document.objects.using(using).aggregate(Min("emission_date"), Max("emission_date"))
    first, last = bounds["emission_date__min"], bounds["emission_date__max"]
    if first is None:
        return []
    batches, month = [], first.replace(day=1)
    while month <= last:
        following = (
            (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            if (month.year < 9999 or month.month < 12)
            else None
        )
        batches.append((month, following - timedelta(days=1) if following else date.max))
        if following is None:
            break
        month = following
    return batches


# --- The Bsale mirror: document types and documents ----------------------------------
# One upsert for the sync, the webhook fetch and import_documents (docs/mirror.md).
# Documents are never deleted in Bsale (they are voided: state 1), so neither here.


def _use(value) -> int:
    number = bv.integer(value)
    if number not in DocumentUse.values:
        raise ValueError("must be 0, 1, 2 or 3")
    return number


def _optional_date(value):
    return None if value in (None, "") else bv.unix_date(value)


def _required_id(value):
    number = bv.relation_id(value)
    if number is None:
        raise ValueError("must not be null")
    return number


DOCUMENT_TYPE_PARSERS = {
    "name": ("name", bv.model_text(DocumentType, "name", required=True)),
    "code": ("codeSii", bv.model_text(DocumentType, "code")),
    "use": ("use", _use),
    "is_electronic": ("isElectronicDocument", lambda v: bv.flag(v or 0)),
    "state": ("state", bv.state),
}
DOCUMENT_TYPE_FIELDS = list(DOCUMENT_TYPE_PARSERS)

DOCUMENT_PARSERS = {
    "document_type_id": ("document_type", _required_id),
    "number": ("number", bv.integer),
    "emission_date": ("emissionDate", bv.unix_date),
    "expiration_date": ("expirationDate", _optional_date),
    "generation_date": ("generationDate", bv.unix_datetime),
    "office_id": ("office", bv.relation_id),
    "user_id": ("user", bv.relation_id),
    "net_amount": ("netAmount", bv.money),
    "tax_amount": ("taxAmount", bv.money),
    "exempt_amount": ("exemptAmount", lambda v: bv.money(0 if v is None else v)),
    "total_amount": ("totalAmount", bv.money),
    "state": ("state", bv.state),
}
DOCUMENT_FIELDS = list(DOCUMENT_PARSERS)
# Which model each of a document's references points at (for "fetch what is missing").
DOCUMENT_REFERENCES = {
    "document_type_id": "document_types",
    "office_id": "offices",
    "user_id": "users",
}
DOCUMENT_COLUMNS = {resource: column for column, resource in DOCUMENT_REFERENCES.items()}


def document_type_values(item: dict) -> tuple[int, dict]:
    return bv.record_values(item, DOCUMENT_TYPE_PARSERS)


def document_values(item: dict) -> tuple[int, dict]:
    """A Bsale document object -> (id, field values); ``ValueError`` names the bad key."""
    return bv.record_values(item, DOCUMENT_PARSERS)


@transaction.atomic
def document_types_upsert(*, items: Iterable[dict], dry_run: bool = False) -> UpsertResult:
    rows = dict(document_type_values(item) for item in items)
    return upsert_rows(DocumentType, rows, fields=DOCUMENT_TYPE_FIELDS, dry_run=dry_run)


def missing_ids(resource: str, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` have no row here (``resource``: offices, document_types, users)."""
    from offices.models import Office

    model = {"document_types": DocumentType, "offices": Office, "users": User}[resource]
    wanted = sorted(set(ids))
    found: set[int] = set()
    for start in range(0, len(wanted), 900):  # SQLite's bound-parameter limit
        chunk = wanted[start : start + 900]
        found.update(model.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    return set(wanted) - found


def documents_referenced(rows: Mapping[int, Mapping], resource: str) -> set[int]:
    """The ids of ``resource`` (offices, document_types, users) that ``rows`` name."""
    column = DOCUMENT_COLUMNS[resource]
    return {row[column] for row in rows.values() if row[column] is not None}


def documents_missing_references(
    rows: Mapping[int, Mapping], *, known: Mapping[str, set[int]] | None = None
) -> dict[str, set[int]]:
    """The referenced ids that exist nowhere here: ``{"offices": {3}, "users": set(), ...}``.
    Ids in ``known[resource]`` are taken as there without asking the database."""
    known = known or {}
    return {
        resource: missing_ids(
            resource, documents_referenced(rows, resource) - known.get(resource, set())
        )
        for resource in DOCUMENT_REFERENCES.values()
    }


@transaction.atomic
def documents_rows_upsert(
    *, rows: Mapping[int, Mapping], dry_run: bool = False, check_references: bool = True
) -> UpsertResult:
    """Upsert parsed documents ({id: values}); every referenced row must exist.

    Per-seller totals follow by themselves (issue 18's database triggers on the table).
    Raises ``InvalidInput`` naming the missing references (nothing written).
    """
    missing = {}
    if check_references:  # a dry run's references may be rows it did not write
        missing = {name: ids for name, ids in documents_missing_references(rows).items() if ids}
    if missing:
        raise InvalidInput(
            "Some documents reference records that do not exist here.",
            {
                name: [f"unknown id {pk}" for pk in sorted(ids)[:20]]
                for name, ids in missing.items()
            },
        )
    return upsert_rows(Document, rows, fields=DOCUMENT_FIELDS, dry_run=dry_run)


def documents_upsert(*, items: Iterable[dict], dry_run: bool = False) -> UpsertResult:
    """Create or update documents from Bsale objects, by Bsale id (see documents_rows_upsert)."""
    return documents_rows_upsert(
        rows=dict(document_values(item) for item in items), dry_run=dry_run
    )
