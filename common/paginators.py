"""Paginators for very large tables."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Below this many rows the exact COUNT(*) is cheap enough, and exact.
ESTIMATE_FROM_ROWS = 100_000


class EstimatedCountPaginator(Paginator):
    """An unfiltered list of a large PostgreSQL table counts from ``pg_class.reltuples``, not a
    whole-table COUNT(*) (docs/performance.md); anything else gets the exact count."""

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet) and not rows.query.where:
            estimate = table_row_estimate(rows)
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
