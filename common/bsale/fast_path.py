"""The compiled fast path: for a model's rows, filtered and ordered by pk, ``SELECT <columns>
FROM <table> <joins>`` is compiled once per shape (compiling costs more than PostgreSQL's
run); per request the ORM compiles only the filtered pks, which the page selects ``IN``,
or, for a list whose filter is a ``SqlFilter``, nothing: its SQL follows the select.
Equal to the ORM path: tests/common/test_fast_path_equivalence.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connections
from django.db.models import F, QuerySet

# Off only in tests, to compare against the plain ORM path.
ENABLED = True

_SELECTS: dict[tuple, tuple[str, list]] = {}
_SELECTS_MAX = 256  # shapes are few (fields x expand); the cap keeps memory flat anyway
# ``SELECT pk AS _pk FROM <table>`` by (model, database): what an unfiltered list counts.
_UNFILTERED_PKS: dict[tuple, tuple[str, tuple]] = {}
_INTEGER_TYPES = {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField"}


def convert_row(row: list, converters: list[tuple], connection) -> list:
    """Django's column converters (``(index, chain, expression)`` per column that has any)
    applied in place to a row read with hand-written SQL, as the ORM's compiler does."""
    for index, chain, expression in converters:
        value = row[index]
        for converter in chain:
            value = converter(value, expression, connection)
        row[index] = value
    return row


@dataclass(frozen=True)
class SqlFilter:
    """A list's filter written once as SQL on its model's own table (columns qualified by
    the table's name), for a list served on every request with the same shape: no ORM
    filter to build and compile per request, and the page is one plain query. ``queryset``
    builds the same rows through the ORM, the path when the fast path is off (tests prove
    the two equal)."""

    model: type
    using: str
    sql: str
    params: tuple
    queryset: Callable[[], QuerySet]


def serves(queryset: QuerySet, *, detail: bool = False) -> bool:
    """Whether the fast path serves ``queryset``: a list's, or an unfiltered one's detail."""
    return ENABLED and _ordered_by_pk(queryset) and not (detail and queryset.query.where)


def _compiled_select(model, columns: tuple[str, ...], connection) -> tuple[str, list]:
    """``SELECT <columns> FROM <table> [JOIN ...]`` (no WHERE, no ORDER BY) and converters."""
    key = (model, columns, connection.alias, connection.vendor)
    cached = _SELECTS.get(key)
    if cached is None:
        query = model._base_manager.using(connection.alias).order_by().values_list(*columns).query
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        assert not params and not query.where
        converters = [
            (index, chain, expression)
            for index, (chain, expression) in compiler.get_converters(
                [item[0] for item in compiler.select]
            ).items()
        ]
        if len(_SELECTS) >= _SELECTS_MAX:
            _SELECTS.clear()
        cached = _SELECTS[key] = (sql, converters)
    return cached


def _ordered_by_pk(queryset: QuerySet) -> bool:
    """A model queryset with filters at most, ordered by primary key only (ascending)."""
    query = queryset.query
    if (
        query.distinct
        or query.combinator
        or query.is_sliced
        or query.annotations
        or query.extra
        or query.extra_order_by
        or query.group_by is not None
        or query.select
        or query.values_select
        or query.select_for_update
        or query.select_related
        or queryset._fields is not None
    ):
        return False
    meta = query.get_meta()
    ordering = query.order_by or (meta.ordering if query.default_ordering else ())
    return tuple(ordering) in (("pk",), (meta.pk.name,), (meta.pk.attname,))


class FastQueries:
    """The count and the page of a pk-ordered queryset, with the select compiled once."""

    def __init__(self, queryset: QuerySet | SqlFilter, columns: tuple[str, ...]) -> None:
        self.sql_filter = queryset if isinstance(queryset, SqlFilter) else None
        if self.sql_filter is not None:
            self.connection = connections[queryset.using]
            self.filtered = True
        else:
            self.connection = connections[queryset.db]
            self.filtered = bool(queryset.query.where)
        self.model = queryset.model
        meta = self.model._meta
        quote = self.connection.ops.quote_name
        self.table = quote(meta.db_table)
        self.pk = f"{self.table}.{quote(meta.pk.column)}"
        self.inner_pk = quote("_pk")
        self.select, self.converters = _compiled_select(self.model, tuple(columns), self.connection)
        self.queryset = queryset

    def count_and_first_pk(self) -> tuple[int, Any]:
        """As ``payloads.count_and_first_pk``, in the same one query (a ``SqlFilter``'s
        first pk is None: its page needs no seek)."""
        if self.sql_filter is not None:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT COUNT(*) FROM {self.table} WHERE {self.sql_filter.sql}",
                    self.sql_filter.params,
                )
                return cursor.fetchone()[0], None
        # The filtered primary keys: the only part compiled per request (once per model
        # when unfiltered).
        key = (self.model, self.connection.alias, self.connection.vendor)
        unfiltered = None if self.filtered else _UNFILTERED_PKS.get(key)
        if unfiltered is not None:
            self.inner_sql, self.inner_params = unfiltered
        else:
            pks = self.queryset.order_by().values(_pk=F("pk")).query
            try:
                self.inner_sql, self.inner_params = pks.get_compiler(
                    connection=self.connection
                ).as_sql()
            except EmptyResultSet:  # e.g. .none(), or an id no column can hold
                return 0, None
            if not self.filtered:
                _UNFILTERED_PKS[key] = (self.inner_sql, tuple(self.inner_params))
        first = f', MIN("_p".{self.inner_pk})' if self.filtered else ""
        with self.connection.cursor() as cursor:
            cursor.execute(
                f'SELECT COUNT(*){first} FROM ({self.inner_sql}) "_p"', self.inner_params
            )
            row = cursor.fetchone()
        return (row[0], row[1]) if self.filtered else (row[0], None)

    def page(self, offset: int, limit: int, first_pk: Any) -> list[list]:
        ops = self.connection.ops
        if self.sql_filter is not None:
            return self._fetch(
                f"{self.select} WHERE {self.sql_filter.sql} ORDER BY {self.pk} ASC"
                f" {ops.limit_offset_sql(offset, offset + limit)}",
                list(self.sql_filter.params),
            )
        seek, params = "", list(self.inner_params)
        if first_pk is not None:
            seek = f' WHERE "_p".{self.inner_pk} >= %s'
            params.append(first_pk)
        page = (
            f'SELECT "_p".{self.inner_pk} FROM ({self.inner_sql}) "_p"{seek}'
            f' ORDER BY "_p".{self.inner_pk} {ops.limit_offset_sql(offset, offset + limit)}'
        )
        return self._fetch(
            f"{self.select} WHERE {self.pk} IN ({page}) ORDER BY {self.pk} ASC", params
        )

    def one(self, pk: Any) -> list[list]:
        field = self.model._meta.pk
        try:
            value = field.to_python(pk)
        except ValidationError:
            return []
        if field.get_internal_type() in _INTEGER_TYPES:
            low, high = self.connection.ops.integer_field_range(field.get_internal_type())
            if (low is not None and value < low) or (high is not None and value > high):
                return []
        value = field.get_db_prep_value(value, self.connection)
        return self._fetch(f"{self.select} WHERE {self.pk} = %s", [value])

    def _fetch(self, sql: str, params: list) -> list[list]:
        connection = self.connection
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not self.converters:
            return rows
        converters = self.converters
        return [convert_row(list(row), converters, connection) for row in rows]
