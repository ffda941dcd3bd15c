"""Reads on sales data: documents, a seller's sales and returns, the sales summary.

The summary's aggregate is shared by the API, the admin page and the ``sales_summary``
command, so the three always show the same numbers (on PostgreSQL the API has the
database also write its JSON: ``sales.resources.sales_summary_json``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet

from common.bsale import MAX_INT
from common.money import CENT
from offices.models import State
from sales.models import (
    Document,
    DocumentType,
    DocumentUse,
    SalesDailyTotal,
    SalesMonthlyTotal,
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


def summary_per_seller_sql(
    start: dt.date,
    end: dt.date,
    user_id: int | None = None,
    office_id: int | None = None,
    *,
    signed: bool = False,
) -> tuple[str, list]:
    """The summary's aggregate straight from the documents (the oracle of the totals and
    ``check``'s reference; what is served is ``summary_per_seller_totals_sql``): per seller (columns ``seller``, ``sales``,
    ``returns``, ``tax``), for the query that joins the sellers' names to it. ``signed``:
    ``seller``, ``subtotal`` (sales minus returns, one signed sum) and ``tax`` only, what
    the API shows: one sum fewer per document.

    Grouping the documents by ``user_id`` alone and joining the ~1,000 sellers' names to
    the ~1,000 groups (instead of every document to its seller, then grouping by id and
    both names) halves PostgreSQL's time over a year of 1,000,000 documents. Django's
    ORM cannot aggregate in a derived table, hence plain SQL (standard: PostgreSQL and
    SQLite), built from the models' names.
    """
    column = "net_amount" if settings.SALES_SUMMARY_SUBTOTAL == "net" else "total_amount"
    qn = connection.ops.quote_name
    doc, dtype = Document._meta, DocumentType._meta

    def col(meta, name: str) -> str:
        return qn(meta.get_field(name).column)

    def total(use: DocumentUse, amount: str) -> str:
        return (
            f"COALESCE(SUM(CASE WHEN t.{col(dtype, 'use')} = {int(use)}"
            f" THEN d.{col(doc, amount)} END), 0.00)"
        )

    where = [
        f"d.{col(doc, 'state')} = %s",
        f"d.{col(doc, 'emission_date')} BETWEEN %s AND %s",
        f"t.{col(dtype, 'use')} IN ({int(DocumentUse.SALE)}, {int(DocumentUse.RETURN)})",
        f"d.{col(doc, 'user')} IS NOT NULL",
    ]
    params: list = [State.ACTIVE, start, end]
    if user_id is not None:
        where.append(f"d.{col(doc, 'user')} = %s")
        params.append(user_id)
    if office_id is not None:
        where.append(f"d.{col(doc, 'office')} = %s")
        params.append(office_id)

    def sales_minus_returns(amount: str) -> str:
        return (
            f"COALESCE(SUM(CASE WHEN t.{col(dtype, 'use')} = {int(DocumentUse.SALE)}"
            f" THEN d.{col(doc, amount)} ELSE -d.{col(doc, amount)} END), 0.00)"
        )

    if signed:
        amounts = f"{sales_minus_returns(column)} AS subtotal"
    else:
        amounts = (
            f"{total(DocumentUse.SALE, column)} AS sales,"
            f" {total(DocumentUse.RETURN, column)} AS returns"
        )
    per_seller = (
        f"SELECT d.{col(doc, 'user')} AS seller, {amounts},"
        f" {sales_minus_returns('tax_amount')} AS tax"
        f" FROM {qn(doc.db_table)} d"
        f" INNER JOIN {qn(dtype.db_table)} t ON t.{col(dtype, 'id')} = d.{col(doc, 'document_type')}"
        f" WHERE {' AND '.join(where)}"
        f" GROUP BY d.{col(doc, 'user')}"
    )
    return per_seller, params


def sellers_join_sql() -> tuple[str, str, str]:
    """The sellers' first and last name columns, and the ``INNER JOIN`` that brings them
    (alias ``u``) to the per-seller sums (alias ``s``)."""
    qn, user = connection.ops.quote_name, get_user_model()._meta
    first, last = (f"u.{qn(user.get_field(n).column)}" for n in ("first_name", "last_name"))
    join = f" INNER JOIN {qn(user.db_table)} u ON u.{qn(user.pk.column)} = s.seller"
    return first, last, join


class TotalsPart(NamedTuple):
    """One slice of a summary's range: rows of ``table`` ("month" or "day") in
    [first, last], added (``sign`` 1) or taken away (-1)."""

    table: str
    first: dt.date
    last: dt.date
    sign: int


def totals_parts(start: dt.date, end: dt.date) -> list[TotalsPart]:
    """[start, end] as the fewest rows of the totals: whole months from the monthly table;
    a month cut by the range either as its days in the range, or, when fewer, as the whole
    month minus its days outside the range. A year ending today reads about 13 monthly
    rows per seller and type, and a day or two of daily rows, instead of 365 daily rows."""
    parts: list[TotalsPart] = []
    if start > end:
        return parts
    month = start.replace(day=1)
    while month <= end:
        following = _next_month(month)
        month_last = following - dt.timedelta(days=1) if following else dt.date.max
        first, last = max(start, month), min(end, month_last)
        inside = (last - first).days + 1
        outside = (month_last - month).days + 1 - inside
        if outside < inside:
            months = [i for i, part in enumerate(parts) if part.table == "month"]
            if months and _next_month(parts[months[-1]].last) == month:
                # Consecutive months: one range.
                parts[months[-1]] = parts[months[-1]]._replace(last=month)
            else:
                parts.append(TotalsPart("month", month, month, 1))
            if month < first:
                parts.append(TotalsPart("day", month, first - dt.timedelta(days=1), -1))
            if last < month_last:
                parts.append(TotalsPart("day", last + dt.timedelta(days=1), month_last, -1))
        else:
            parts.append(TotalsPart("day", first, last, 1))
        if following is None:
            break
        month = following
    return parts


def _next_month(day: dt.date) -> dt.date | None:
    """The first day of the following month; None after December 9999."""
    if day.year == dt.MAXYEAR and day.month == 12:
        return None
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def summary_per_seller_totals_sql(
    start: dt.date,
    end: dt.date,
    user_id: int | None = None,
    office_id: int | None = None,
    *,
    signed: bool = False,
) -> tuple[str, list]:
    """``summary_per_seller_sql``'s columns, summed from the totals the triggers keep
    (sales/totals_sql.py), sliced by ``totals_parts``. Amounts are numeric with 2 decimals on PostgreSQL and
    integer cents on SQLite (``sales_summary`` turns them into Decimals)."""
    column = "net_cents" if settings.SALES_SUMMARY_SUBTOTAL == "net" else "total_cents"
    qn = connection.ops.quote_name
    dtype = DocumentType._meta
    use = f"t.{qn(dtype.get_field('use').column)}"
    filters, filter_params = "", []
    if user_id is not None:
        filters += " AND seller_id = %s"
        filter_params.append(user_id)
    if office_id is not None:
        filters += " AND office_id = %s"
        filter_params.append(office_id)

    parts, params = [], []
    tables = {"month": SalesMonthlyTotal._meta.db_table, "day": SalesDailyTotal._meta.db_table}
    for part in totals_parts(start, end):
        # A slice taken away counts negatively: amounts and documents alike.
        sign = "" if part.sign == 1 else "-"
        parts.append(
            f"SELECT seller_id, document_type_id, {sign}total_cents AS total_cents,"
            f" {sign}net_cents AS net_cents, {sign}tax_cents AS tax_cents,"
            f" {sign}documents AS documents FROM {qn(tables[part.table])}"
            f" WHERE {part.table} BETWEEN %s AND %s{filters}"
        )
        params += [part.first, part.last, *filter_params]
    if not parts:  # start after end: nothing, as the raw aggregate
        parts.append(
            "SELECT seller_id, document_type_id, total_cents, net_cents, tax_cents, documents"
            f" FROM {qn(tables['day'])} WHERE 1 = 0"
        )

    def money(cents_sum: str) -> str:
        if connection.vendor == "postgresql":
            return f"CAST(COALESCE({cents_sum}, 0) / 100.0 AS NUMERIC(20, 2))"
        return f"COALESCE({cents_sum}, 0)"

    def signed_sum(name: str) -> str:
        return money(
            f"SUM(CASE WHEN {use} = {int(DocumentUse.SALE)} THEN x.{name} ELSE -x.{name} END)"
        )

    if signed:
        amounts = f"{signed_sum(column)} AS subtotal"
    else:
        amounts = (
            f"{money(f'SUM(CASE WHEN {use} = {int(DocumentUse.SALE)} THEN x.{column} END)')} AS sales,"
            f" {money(f'SUM(CASE WHEN {use} = {int(DocumentUse.RETURN)} THEN x.{column} END)')}"
            " AS returns"
        )
    per_seller = (
        f"SELECT x.seller_id AS seller, {amounts}, {signed_sum('tax_cents')} AS tax"
        f" FROM ({' UNION ALL '.join(parts)}) x"
        f" INNER JOIN {qn(dtype.db_table)} t ON t.{qn(dtype.pk.column)} = x.document_type_id"
        f" WHERE {use} IN ({int(DocumentUse.SALE)}, {int(DocumentUse.RETURN)})"
        # A seller is listed when at least one counted document is left (as the raw path).
        " GROUP BY x.seller_id HAVING SUM(x.documents) > 0"
    )
    return per_seller, params


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
    rows = _summary_rows(per_seller, params)
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
    rows = _summary_rows(per_seller, params)
    if connection.vendor == "sqlite":
        rows = [(*row[:3], *map(_cents, row[3:])) for row in rows]
    return _summary(start, end, rows)


def _summary_rows(per_seller: str, params: list) -> list[tuple]:
    first, last, join = sellers_join_sql()
    sql = f"SELECT s.seller, {first}, {last}, s.sales, s.returns, s.tax FROM ({per_seller}) s{join}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
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
    sorted; empty when they agree. Reads every document: for ``check_sales_totals``."""
    from sales import totals_sql

    sql = totals_sql.differences_sql(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    keys = sorted(
        {
            (kind, str(period)[:10], seller, office, dtype)
            for kind, period, seller, office, dtype, *_ in rows
        }
    )
    return keys[:limit]
