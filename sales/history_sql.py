"""The sales history's hand-written SQL, in one place: the upsert of a write, the merge's
lookup of the entries it touches, and on PostgreSQL the Leancore history JSON written by the
database. Executed by ``sales.services`` and ``leancore.payloads``; tests/sales/
test_history_service.py and tests/leancore/test_leancore_history_json.py prove them equal
to the ORM's reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

from django.db import connections, router

from sales.models import SalesHistoryEntry
from sales.summary_sql import json_number_sql

if TYPE_CHECKING:
    from sales.services import HistoryEntryData

# Rows per INSERT ... ON CONFLICT statement (SQLite lowers it to its 999-parameter limit).
UPSERT_BATCH_SIZE = 2000


def matching_entries_sql(connection) -> str:
    """PostgreSQL: the user's entries with the keys given as three arrays (joined on the
    unique index), each with the user's count of entries (also when none matches).
    Parameters: user pk, nits, dates, emcs, user pk."""
    table = connection.ops.quote_name(SalesHistoryEntry._meta.db_table)
    return (
        f"SELECT h.id, h.nit, h.date, h.emc, h.amount, c.n FROM"
        f" (SELECT COUNT(*) AS n FROM {table} WHERE user_id = %s) c LEFT JOIN"
        f" ({table} h JOIN unnest(%s::text[], %s::timestamptz[], %s::text[])"
        " AS e(nit, date, emc) ON h.nit = e.nit AND h.date = e.date AND h.emc = e.emc"
        " AND h.user_id = %s) ON true"
    )


def _batches(items: Sequence, size: int):
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class HistoryUpsert:
    """``INSERT ... ON CONFLICT (user, nit, date, emc) DO UPDATE SET amount, updated_at``
    for one database: what ``bulk_create(update_conflicts=True)`` sends, compiled once
    (``bulk_create`` walks a model instance per entry). On PostgreSQL the rows travel as
    four arrays (``unnest``), one short statement whatever their number; elsewhere a
    ``VALUES`` list the fields prepare (``get_db_prep_save``), as the ORM would.
    docs/performance.md has the timings."""

    COLUMNS = ("user", "nit", "amount", "date", "emc", "created_at", "updated_at")
    UNIQUE = ("user", "nit", "date", "emc")
    UPDATED = ("amount", "updated_at")

    def __init__(self, connection) -> None:
        meta = SalesHistoryEntry._meta
        quote = connection.ops.quote_name

        def column(name: str) -> str:
            return quote(meta.get_field(name).column)

        self.amount_field = meta.get_field("amount")
        self.date_field = meta.get_field("date")
        self.unnest = connection.vendor == "postgresql"
        insert = f"INSERT INTO {quote(meta.db_table)} ({', '.join(map(column, self.COLUMNS))}) "
        updates = ", ".join(f"{column(n)} = EXCLUDED.{column(n)}" for n in self.UPDATED)
        on_conflict = (
            f" ON CONFLICT ({', '.join(map(column, self.UNIQUE))}) DO UPDATE SET {updates}"
        )
        if self.unnest:
            # The arrays' types are the columns' own (varchar -> text is implicit).
            self.sql = (
                f"{insert}SELECT %s, e.nit, e.amount, e.date, e.emc, %s, %s FROM unnest("
                "%s::text[], %s::numeric[], %s::timestamptz[], %s::text[]"
                f") AS e(nit, amount, date, emc){on_conflict}"
            )
        else:
            self.prefix, self.suffix = f"{insert}VALUES ", on_conflict
            self.row = f"({', '.join(['%s'] * len(self.COLUMNS))})"
        self.max_rows = None
        if connection.features.max_query_params:  # SQLite: 999 parameters per statement
            self.max_rows = connection.features.max_query_params // len(self.COLUMNS)

    def execute(self, connection, *, user_pk: int, entries: Sequence[HistoryEntryData], now):
        batch_size = UPSERT_BATCH_SIZE
        if self.max_rows is not None:
            batch_size = min(batch_size, self.max_rows)
        with connection.cursor() as cursor:
            for batch in _batches(entries, batch_size):
                if self.unnest:
                    # psycopg sends Decimal and aware datetimes as they are, as the ORM does.
                    cursor.execute(
                        self.sql,
                        [
                            user_pk,
                            now,
                            now,
                            [entry.nit for entry in batch],
                            [entry.amount for entry in batch],
                            [entry.date for entry in batch],
                            [entry.emc for entry in batch],
                        ],
                    )
                    continue
                prep_amount = self.amount_field.get_db_prep_save
                prep_date = self.date_field.get_db_prep_save
                stamp = prep_date(now, connection)
                params: list = []
                for entry in batch:
                    params += (
                        user_pk,
                        entry.nit,
                        prep_amount(entry.amount, connection),
                        prep_date(entry.date, connection),
                        entry.emc,
                        stamp,
                        stamp,
                    )
                sql = f"{self.prefix}{', '.join([self.row] * len(batch))}{self.suffix}"
                cursor.execute(sql, params)


_upserts: dict[tuple[str, str], HistoryUpsert] = {}


def upsert(*, user_pk: int, entries: Sequence[HistoryEntryData], now: datetime) -> None:
    """Insert ``entries`` for the user, or update the amount of those that exist; one
    statement per ``UPSERT_BATCH_SIZE`` entries (fewer on SQLite)."""
    connection = connections[router.db_for_write(SalesHistoryEntry)]
    key = (connection.alias, connection.vendor)
    upsert = _upserts.get(key)
    if upsert is None:
        upsert = _upserts[key] = HistoryUpsert(connection)
    upsert.execute(connection, user_pk=user_pk, entries=entries, now=now)


def history_json_sql(connection) -> str:
    """PostgreSQL: the user's history as the JSON text of Leancore's list, in one value.

    The same entries, order and values as ``leancore.payloads.leancore_history``
    (tests/leancore/test_leancore_history_json.py compares them): sorted by fecha, then
    nit and emc in code point order (``COLLATE "C"``, as Python compares strings);
    ``monto`` as the renderer writes a Decimal; ``fecha`` as ``isoformat()`` in the
    configured time zone (microseconds only when not zero, the offset as +HH:MM[:SS]).
    docs/history.md has the timings.
    """
    table = connection.ops.quote_name(SalesHistoryEntry._meta.db_table)
    # The local time and its UTC offset (seconds) computed once per row (LATERAL): a
    # named zone's conversion costs more than the rest of the row's text.
    fecha = (
        "to_char(l.loc, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        " || CASE WHEN EXTRACT(MICROSECONDS FROM l.loc)::int %% 1000000 <> 0"
        " THEN '.' || to_char(l.loc, 'US') ELSE '' END"
        " || CASE WHEN o.off < 0 THEN '-' ELSE '+' END"
        " || lpad((abs(o.off) / 3600)::text, 2, '0')"
        " || ':' || lpad((abs(o.off) %% 3600 / 60)::text, 2, '0')"
        " || CASE WHEN abs(o.off) %% 60 <> 0"
        " THEN ':' || lpad((abs(o.off) %% 60)::text, 2, '0') ELSE '' END"
    )
    entry = (
        """'{"nit":' || to_json(h.nit)::text"""
        f""" || ',"monto":' || {json_number_sql("trim_scale(h.amount)")}"""
        f""" || ',"fecha":"' || {fecha}"""
        """ || '","emc":' || to_json(h.emc)::text || '}'"""
    )
    return (
        f"SELECT '[' || COALESCE(string_agg({entry}, ','"
        " ORDER BY h.date, h.nit COLLATE \"C\", h.emc COLLATE \"C\"), '') || ']'"
        f" FROM {table} h"
        " CROSS JOIN LATERAL (SELECT h.date AT TIME ZONE %(tz)s AS loc) l"
        " CROSS JOIN LATERAL (SELECT EXTRACT(EPOCH FROM l.loc - (h.date AT TIME ZONE 'UTC'))::int"
        " AS off) o"
        " WHERE h.user_id = %(user)s"
    )
