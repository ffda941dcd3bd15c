"""Insert-or-update many rows by primary key, writing only what differs.

The mirror's services (offices, users, sales) upsert a page of a source's records in
a few statements: one SELECT of the rows that exist, one INSERT of the new ones, one
UPDATE per changed field set. Unchanged rows are not written, so a second sync of the
same data writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.db import connections

from common.sequences import advance_id_sequence

# Ids per SELECT ... WHERE id IN (...): under SQLite's 999 bound parameters.
SELECT_BATCH = 900


@dataclass
class UpsertResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # id -> why it was not written

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
        }


def copy_in(model, objects: list, *, using: str = "default") -> None:
    """Insert ``objects`` (with their ids) by PostgreSQL's COPY: the values bulk_create
    would send (defaults, ``pre_save``, the fields' own conversion), without an INSERT of
    one bound parameter per value, which costs more to build than the rows to write.
    Triggers and constraints apply as to an INSERT; no signals, as with bulk_create."""
    connection = connections[using]
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    # Django's error classes (IntegrityError, ...), as for its own queries.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for obj in objects:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])


def upsert_rows(
    model,
    rows: Mapping[int, Mapping],
    *,
    fields: list[str],
    dry_run: bool = False,
    new_row: Callable[[int, Mapping], Mapping] | None = None,
    refuse: Callable[[dict], str | None] | None = None,
    guard_columns: tuple[str, ...] = (),
    using: str = "default",
) -> UpsertResult:
    """Upsert ``rows`` ({id: {field: value}}) into ``model``; only ``fields`` are Bsale's.

    ``new_row(id, values)`` adds the columns a created row needs besides ``fields``
    (a user's username and password). ``refuse(existing)`` names why an existing row
    must not be written (then it is skipped); it sees ``fields`` and ``guard_columns``. Call inside ``transaction.atomic``.
    """
    result = UpsertResult()
    ids = list(rows)
    existing: dict[int, dict] = {}
    columns = ["id", *fields, *guard_columns]
    for start in range(0, len(ids), SELECT_BATCH):
        chunk = ids[start : start + SELECT_BATCH]
        for row in model._base_manager.using(using).filter(pk__in=chunk).values(*columns):
            existing[row["id"]] = row
    creates = []
    changes_by_fields: dict[tuple[str, ...], list] = defaultdict(list)
    for pk, values in rows.items():
        current = existing.get(pk)
        if current is None:
            extra = new_row(pk, values) if new_row else {}
            creates.append(model(id=pk, **values, **extra))
            result.created.append(pk)
            continue
        reason = refuse(current) if refuse else None
        if reason:
            result.skipped[pk] = reason
            continue
        changed = tuple(name for name in fields if current[name] != values[name])
        if not changed:
            result.unchanged.append(pk)
            continue
        changes_by_fields[changed].append(model(id=pk, **values))
        result.updated.append(pk)
    if dry_run:
        return result
    if creates:
        if connections[using].vendor == "postgresql":
            copy_in(model, creates, using=using)
            # Explicit ids leave PostgreSQL's sequence behind (SQLite's AUTOINCREMENT follows).
            advance_id_sequence(model, using=using)
        else:
            model._base_manager.using(using).bulk_create(creates, batch_size=500)
    for changed, objects in changes_by_fields.items():
        # The model's default manager: users.UserQuerySet.update() invalidates the
        # authentication cache, so a user deactivated here loses its tokens at once.
        model.objects.using(using).bulk_update(objects, list(changed), batch_size=500)
    return result
