"""The sales summary's hand-written SQL, in one place: the per-seller aggregate from the
sales totals (what is served), the same aggregate from the documents (the oracle), the
sellers' names joined to either, and on PostgreSQL the Bsale JSON written by the database.

Django's ORM cannot aggregate in a derived table, hence plain SQL (standard: PostgreSQL and
SQLite), built from the models' names. Executed by ``sales.selectors`` and
``sales.resources.sales_summary_json``; tests/sales/test_sales_totals.py and
tests/sales/test_api_sales_summary.py prove the paths equal.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from offices.models import State
from sales.models import (
    Document,
    DocumentType,
    DocumentUse,
    SalesDailyTotal,
    SalesMonthlyTotal,
    SellerDailySalesTotal,
    SellerMonthlySalesTotal,
    SellerName,
)


def summary_per_seller_sql(
    start: dt.date,
    end: dt.date,
    user_id: int | None = None,
    office_id: int | None = None,
    *,
    signed: bool = False,
) -> tuple[str, list]:
    """The summary's aggregate straight from the documents, the oracle of the totals:
    per seller (``seller``, ``sales``, ``returns``, ``tax``); ``signed``: ``seller``,
    ``subtotal`` (sales minus returns, one sum fewer per document) and ``tax``.

    Grouped by ``user_id`` alone, the sellers' names joined to the groups afterwards
    (docs/performance.md has the timing).
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


def sellers_join_sql(*, from_totals: bool) -> tuple[str, str, str]:
    """The sellers' first and last name columns, and the ``INNER JOIN`` that brings them
    (alias ``u``) to the per-seller sums (alias ``s``): from the sellers' names kept beside
    the totals (``from_totals``), else from the users (the oracle's)."""
    qn = connection.ops.quote_name
    if from_totals:
        table, meta, key = SellerName._meta.db_table, SellerName._meta, "seller_id"
    else:
        meta = get_user_model()._meta
        table, key = meta.db_table, meta.pk.column
    first, last = (f"u.{qn(meta.get_field(n).column)}" for n in ("first_name", "last_name"))
    join = f" INNER JOIN {qn(table)} u ON u.{qn(key)} = s.seller"
    return first, last, join


class TotalsPart(NamedTuple):
    """One slice of a summary's range: rows of ``table`` ("month" or "day") in
    [first, last], added (``sign`` 1) or taken away (-1)."""

    table: str
    first: dt.date
    last: dt.date
    sign: int


def totals_parts(start: dt.date, end: dt.date, *, today: dt.date | None = None) -> list[TotalsPart]:
    """[start, end] as the fewest rows of the totals: whole months from the monthly table;
    a month cut by the range either as its days in the range, or, when fewer rows, as the
    whole month minus its days outside the range. A year ending today reads about 13 monthly
    rows per seller and type, and a day or two of daily rows, instead of 365 daily rows.

    Days after ``today`` are counted as holding no rows (documents are seldom dated ahead):
    the month so far is its monthly row minus days that hold nothing yet. Only the choice
    depends on it; every choice sums the same."""
    parts: list[TotalsPart] = []
    if start > end:
        return parts

    def days(first: dt.date, last: dt.date) -> int:
        if today is not None:
            last = min(last, today)
        return max((last - first).days + 1, 0)

    month = start.replace(day=1)
    while month <= end:
        following = _next_month(month)
        month_last = following - dt.timedelta(days=1) if following else dt.date.max
        first, last = max(start, month), min(end, month_last)
        inside = days(first, last)
        outside = days(month, month_last) - inside
        if outside < inside or (first == month and last == month_last):
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
    """``summary_per_seller_sql``'s columns summed from the totals the triggers keep
    (sales/totals_sql.py), sliced by ``totals_parts``: numeric with 2 decimals on
    PostgreSQL, integer cents on SQLite (``sales_summary`` makes them Decimals).

    Without an office, from the sellers' tables (one row per seller and period); with
    one, from the per-office and per-type tables.
    """
    if office_id is None:
        return _per_seller_from_seller_totals(start, end, user_id, signed=signed)
    column = "net_cents" if settings.SALES_SUMMARY_SUBTOTAL == "net" else "total_cents"
    qn = connection.ops.quote_name
    dtype = DocumentType._meta
    use = f"t.{qn(dtype.get_field('use').column)}"
    tables = {"month": SalesMonthlyTotal._meta.db_table, "day": SalesDailyTotal._meta.db_table}
    sums = {name: name for name in ("total_cents", "net_cents", "tax_cents", "documents")}
    union, params = _totals_union(
        tables, sums, start, end, user_id, office_id, keys=("document_type_id",)
    )

    def signed_sum(name: str) -> str:
        return _money(
            f"SUM(CASE WHEN {use} = {int(DocumentUse.SALE)} THEN x.{name} ELSE -x.{name} END)"
        )

    if signed:
        amounts = f"{signed_sum(column)} AS subtotal"
    else:
        amounts = (
            f"{_money(f'SUM(CASE WHEN {use} = {int(DocumentUse.SALE)} THEN x.{column} END)')}"
            f" AS sales, {_money(f'SUM(CASE WHEN {use} = {int(DocumentUse.RETURN)} THEN x.{column} END)')}"
            " AS returns"
        )
    per_seller = (
        f"SELECT x.seller_id AS seller, {amounts}, {signed_sum('tax_cents')} AS tax"
        f" FROM ({union}) x"
        f" INNER JOIN {qn(dtype.db_table)} t ON t.{qn(dtype.pk.column)} = x.document_type_id"
        f" WHERE {use} IN ({int(DocumentUse.SALE)}, {int(DocumentUse.RETURN)})"
        # A seller is listed when at least one counted document is left (as the raw path).
        " GROUP BY x.seller_id HAVING SUM(x.documents) > 0"
    )
    return per_seller, params


def _per_seller_from_seller_totals(
    start: dt.date, end: dt.date, user_id: int | None, *, signed: bool
) -> tuple[str, list]:
    amount = "net" if settings.SALES_SUMMARY_SUBTOTAL == "net" else "total"
    tables = {
        "month": SellerMonthlySalesTotal._meta.db_table,
        "day": SellerDailySalesTotal._meta.db_table,
    }
    sales, returns = f"sales_{amount}_cents", f"returns_{amount}_cents"
    if signed:
        # Sales minus returns per row: fewer columns through the union and the aggregate.
        sums = {
            "subtotal": f"{sales} - {returns}",
            "tax": "sales_tax_cents - returns_tax_cents",
            "documents": "documents",
        }
        amounts = f"{_money('SUM(x.subtotal)')} AS subtotal"
        tax = _money("SUM(x.tax)")
    else:
        sums = {name: name for name in (sales, returns, "sales_tax_cents", "returns_tax_cents")}
        sums["documents"] = "documents"
        amounts = f"{_money(f'SUM(x.{sales})')} AS sales, {_money(f'SUM(x.{returns})')} AS returns"
        tax = _money("SUM(x.sales_tax_cents - x.returns_tax_cents)")
    union, params = _totals_union(tables, sums, start, end, user_id, None)
    return (
        f"SELECT x.seller_id AS seller, {amounts}, {tax} AS tax FROM ({union}) x"
        " GROUP BY x.seller_id HAVING SUM(x.documents) > 0"
    ), params


def _totals_union(
    tables: dict[str, str],
    sums: dict[str, str],
    start: dt.date,
    end: dt.date,
    user_id: int | None,
    office_id: int | None,
    *,
    keys: tuple[str, ...] = (),
) -> tuple[str, list]:
    """[start, end] as a ``UNION ALL`` of the slices ``totals_parts`` chooses, each of
    ``seller_id``, ``keys`` and ``sums`` (column name: expression over the table's columns;
    negated in a slice taken away)."""
    qn = connection.ops.quote_name
    filters, filter_params = "", []
    if user_id is not None:
        filters += " AND seller_id = %s"
        filter_params.append(user_id)
    if office_id is not None:
        filters += " AND office_id = %s"
        filter_params.append(office_id)
    parts, params = [], []
    for part in totals_parts(start, end, today=timezone.localdate()):
        sign = "" if part.sign == 1 else "-"
        values = ", ".join((*keys, *(f"{sign}({e}) AS {name}" for name, e in sums.items())))
        parts.append(
            f"SELECT seller_id, {values} FROM {qn(tables[part.table])}"
            f" WHERE {part.table} BETWEEN %s AND %s{filters}"
        )
        params += [part.first, part.last, *filter_params]
    if not parts:  # start after end: nothing, as the raw aggregate
        columns = ", ".join((*keys, *(f"{e} AS {name}" for name, e in sums.items())))
        parts.append(f"SELECT seller_id, {columns} FROM {qn(tables['day'])} WHERE 1 = 0")
    return " UNION ALL ".join(parts), params


def _money(cents_sum: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(COALESCE({cents_sum}, 0) / 100.0 AS NUMERIC(20, 2))"
    return f"COALESCE({cents_sum}, 0)"


def json_number_sql(expression: str) -> str:
    """SQL for a numeric's text as ``money_json`` writes it: ``255000.00`` -> ``255000.0``,
    ``150000.50`` -> ``150000.5`` (``expression`` already passed through ``trim_scale``)."""
    return (
        f"CASE WHEN scale({expression}) = 0 THEN {expression}::text || '.0'"
        f" ELSE {expression}::text END"
    )


def summary_text_sql(per_seller: str, *, from_totals: bool) -> str:
    """PostgreSQL: rows of (first name, last name, seller, subtotal, tax) with the amounts
    already as the JSON's number text, for ``sales_summary_json`` to write.

    The aggregate is ``sales_summary``'s, with sales minus returns summed at once
    (``signed``). Numbers as text: no ``Decimal`` per amount to parse and format again.
    The grand total is summed in Python: a window over the rows cost the query more.
    """
    first, last, join = sellers_join_sql(from_totals=from_totals)
    return (
        f"SELECT {first}, {last}, s.seller, {json_number_sql('s.subtotal')},"
        f" {json_number_sql('s.tax')} FROM ("
        "SELECT seller, trim_scale(subtotal) AS subtotal, trim_scale(tax) AS tax"
        f" FROM ({per_seller}) p) s{join}"
    )


def summary_rows_sql(per_seller: str, *, from_totals: bool) -> str:
    """Rows of (seller, first name, last name, sales, returns, tax) from an aggregate."""
    first, last, join = sellers_join_sql(from_totals=from_totals)
    return (
        f"SELECT s.seller, {first}, {last}, s.sales, s.returns, s.tax FROM ({per_seller}) s{join}"
    )
