"""Paginators for very large tables."""

from __future__ import annotations

import json

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Below this many rows the exact COUNT(*) is cheap enough, and exact.
ESTIMATE_FROM_ROWS = 100_000


class EstimatedCountPaginator(Paginator):
    """A large list on PostgreSQL counts from the planner, not from a COUNT(*) of every
    matching row (docs/performance.md): unfiltered from ``pg_class.reltuples``, filtered
    from its plan's row estimate. Under ESTIMATE_FROM_ROWS rows, the exact count."""

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet):
            estimate = (planned_row_estimate if rows.query.where else table_row_estimate)(rows)
            if estimate is not None and estimate >= ESTIMATE_FROM_ROWS:
                return estimate
        return super().count


def table_row_estimate(rows: QuerySet) -> int | None:
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(rows.model._meta.db_table)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


def planned_row_estimate(rows: QuerySet) -> int | None:
    """The rows PostgreSQL's planner expects ``rows`` to match (EXPLAIN: planned, not run)."""
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = rows.order_by().values("pk").query.get_compiler(rows.db).as_sql()
    except EmptyResultSet:  # e.g. ``pk__in=[]``: nothing to plan, and nothing to count
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
