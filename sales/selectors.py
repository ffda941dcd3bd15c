"""Reads on sales data: documents, a seller's sales and returns, the sales summary.

The summary's aggregate is shared by the API, the admin page and the ``sales_summary``
command, so the three always show the same numbers (on PostgreSQL the API has the
database also write its JSON: ``sales.resources.sales_summary_json``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import NamedTuple

from django.db import connection, router
from django.db.models import QuerySet

from common.bsale.fast_path import SqlFilter
from common.bsale.parameters import MAX_INT
from common.money import CENT
from offices.models import State
from sales.models import Document, DocumentType, DocumentUse
from sales.seller_documents_sql import seller_documents_where
from sales.summary_sql import (
    summary_per_seller_sql,
    summary_per_seller_totals_sql,
    summary_rows_sql,
)

ZERO = Decimal("0.00")


def document_type_list() -> QuerySet[DocumentType]:
    return DocumentType.objects.order_by("id")


def document_list() -> QuerySet[Document]:
    return Document.objects.order_by("id")


def seller_documents(
    *, user_id: int, use: DocumentUse, start: dt.date, end: dt.date
) -> QuerySet[Document]:
    """A seller's active documents of one use (sales or returns) emitted in [start, end].

    ``user_id`` comes from the URL: an id no 64-bit column can hold has no documents (the
    database would reject the comparison instead of finding nothing).
    """
    if not -MAX_INT <= user_id <= MAX_INT:
        return Document.objects.none()
    return Document.objects.filter(
        user_id=user_id,
        state=State.ACTIVE,
        document_type__use=use,
        emission_date__range=(start, end),
    ).order_by("id")


def seller_documents_filter(
    *, user_id: int, use: DocumentUse, start: dt.date, end: dt.date
) -> QuerySet[Document] | SqlFilter:
    """``seller_documents`` for the API's list: as SQL written once (the fast path's), the
    ORM queryset built only when the fast path is off."""
    if not -MAX_INT <= user_id <= MAX_INT:
        return Document.objects.none()
    using = router.db_for_read(Document)
    sql, params = seller_documents_where(
        user_id=user_id, use=use, start=start, end=end, using=using
    )
    plain = partial(seller_documents, user_id=user_id, use=use, start=start, end=end)
    return SqlFilter(model=Document, using=using, sql=sql, params=params, queryset=plain)


def full_name(first_name: str, last_name: str) -> str:
    """A seller's name as the summary shows it: the two joined, outer spaces trimmed (as
    SQL's ``btrim``, so the database can build the same text)."""
    return f"{first_name} {last_name}".strip(" ")


def seller_order(first_name: str, last_name: str, user_id: int) -> tuple[str, int]:
    """The summary's order of sellers: by full name, case-insensitively, then by id."""
    return full_name(first_name, last_name).casefold(), user_id


class SellerSummary(NamedTuple):
    # A tuple, not a dataclass: the summary builds one per seller (about 1,000 per call).
    user_id: int
    first_name: str
    last_name: str
    sales: Decimal  # sales' amount (total or net, by setting)
    returns: Decimal  # returns' amount (total or net, by setting)
    tax_subtotal: Decimal  # sales' tax minus returns' tax

    @property
    def full_name(self) -> str:
        return full_name(self.first_name, self.last_name)

    @property
    def subtotal(self) -> Decimal:
        return self.sales - self.returns


@dataclass(frozen=True)
class SalesSummary:
    start: dt.date
    end: dt.date
    sellers: list[SellerSummary]

    @property
    def total(self) -> Decimal:
        return sum((s.subtotal for s in self.sellers), ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((s.tax_subtotal for s in self.sellers), ZERO)


def _cents(value) -> Decimal:
    # SQLite sums numerics as floats: back to exact cents. (PostgreSQL sums them exactly.)
    return Decimal(value).quantize(CENT)


def sales_summary(
    *,
    start: dt.date,
    end: dt.date,
    user_id: int | None = None,
    office_id: int | None = None,
) -> SalesSummary:
    """Per seller: sales minus returns in [start, end], in ONE query on the sales totals.

    Counted: active documents whose type's use is sale (0) or return (1). ``subtotal``
    uses ``total_amount`` (tax included, as Bsale does) unless the setting
    ``SALES_SUMMARY_SUBTOTAL`` is ``"net"``. Sellers are sorted by full name.
    """
    per_seller, params = summary_per_seller_totals_sql(start, end, user_id, office_id)
    rows = _summary_rows(per_seller, params, from_totals=True)
    if connection.vendor == "sqlite":
        rows = [(*row[:3], *(Decimal(v).scaleb(-2) for v in row[3:])) for row in rows]
    return _summary(start, end, rows)


def raw_sales_summary(
    *,
    start: dt.date,
    end: dt.date,
    user_id: int | None = None,
    office_id: int | None = None,
) -> SalesSummary:
    """``sales_summary`` aggregated from the documents themselves: the oracle the totals
    are tested against (tests/sales/test_sales_totals.py), never served."""
    per_seller, params = summary_per_seller_sql(start, end, user_id, office_id)
    rows = _summary_rows(per_seller, params, from_totals=False)
    if connection.vendor == "sqlite":
        rows = [(*row[:3], *map(_cents, row[3:])) for row in rows]
    return _summary(start, end, rows)


def _summary_rows(per_seller: str, params: list, *, from_totals: bool) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(summary_rows_sql(per_seller, from_totals=from_totals), params)
        return cursor.fetchall()


def _summary(start: dt.date, end: dt.date, rows: list[tuple]) -> SalesSummary:
    sellers = list(map(SellerSummary._make, rows))
    sellers.sort(key=_by_name)
    return SalesSummary(start=start, end=end, sellers=sellers)


def _by_name(seller: SellerSummary) -> tuple[str, int]:
    return seller_order(seller.first_name, seller.last_name, seller.user_id)


def sales_totals_differences(limit: int = 1000) -> list[tuple]:
    """Where the sales totals differ from the documents: rows of (``"day"`` or
    ``"month"``, the day or month, seller id, office id (0: none), document type id),
    sorted; empty when they agree; ``"seller name"`` rows (no period) for the sellers'
    names. Reads every document: for ``check_sales_totals``."""
    from sales import seller_names_sql, totals_sql

    with connection.cursor() as cursor:
        cursor.execute(totals_sql.differences_sql(connection.vendor))
        rows = cursor.fetchall()
        cursor.execute(seller_names_sql.differences_sql())
        names = cursor.fetchall()
    keys = sorted(
        {
            (kind, str(period)[:10], seller, office, dtype)
            for kind, period, seller, office, dtype, *_ in rows
        }
        # A seller's name beside the totals that is missing or differs from the user's.
        | {("seller name", "", seller, 0, 0) for (seller,) in names}
    )
    return keys[:limit]
