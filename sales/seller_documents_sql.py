"""A seller's documents of one use in a date range, as SQL on ``sales_document`` alone: the
fast path's filter for ``/v1/users/{id}/sales.json`` and ``returns.json``, the same rows as
``sales.selectors.seller_documents`` (tests/common/test_fast_path_equivalence.py)."""

from __future__ import annotations

import datetime as dt

from django.db import connections

from offices.models import State
from sales.models import Document, DocumentType, DocumentUse


def seller_documents_where(
    *, user_id: int, use: DocumentUse, start: dt.date, end: dt.date, using: str
) -> tuple[str, tuple]:
    """The ``WHERE`` (without the word) and its parameters; the type's use through a
    subquery, so the filter needs none of the select's joins."""
    ops = connections[using].ops
    qn = ops.quote_name
    doc, dtype = Document._meta, DocumentType._meta

    def col(name: str) -> str:
        return f"{qn(doc.db_table)}.{qn(doc.get_field(name).column)}"

    sql = (
        f"{col('user')} = %s AND {col('state')} = %s"
        f" AND {col('emission_date')} BETWEEN %s AND %s"
        f" AND {col('document_type')} IN (SELECT {qn(dtype.pk.column)}"
        f" FROM {qn(dtype.db_table)} WHERE {qn(dtype.get_field('use').column)} = %s)"
    )
    dates = ops.adapt_datefield_value(start), ops.adapt_datefield_value(end)
    return sql, (user_id, int(State.ACTIVE), *dates, int(use))
