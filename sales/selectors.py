"""Reads on sales data: documents, a seller's sales and returns, the sales summary.

The summary is shared by the API, the admin page and the ``sales_summary`` command,
so the three always show the same numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, DecimalField, F, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from common.bsale import MAX_INT
from common.money import CENT
from offices.models import State
from sales.models import Document, DocumentType, DocumentUse

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


@dataclass(frozen=True)
class SellerSummary:
    user_id: int
    first_name: str
    last_name: str
    sales: Decimal  # sales' amount (total or net, by setting)
    returns: Decimal  # returns' amount (total or net, by setting)
    sales_tax: Decimal
    returns_tax: Decimal

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def subtotal(self) -> Decimal:
        return self.sales - self.returns

    @property
    def tax_subtotal(self) -> Decimal:
        return self.sales_tax - self.returns_tax


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
    # PostgreSQL sums numerics exactly; SQLite sums them as floats. Either way: cents.
    return Decimal(value).quantize(CENT)


def _sum_for_use(column: str, use: DocumentUse):
    money = DecimalField(max_digits=20, decimal_places=2)
    return Coalesce(
        Sum(Case(When(document_type__use=use, then=F(column)), output_field=money)),
        Value(ZERO),
        output_field=money,
    )


def sales_summary(
    *,
    start: dt.date,
    end: dt.date,
    user_id: int | None = None,
    office_id: int | None = None,
) -> SalesSummary:
    """Per seller: sales minus returns in [start, end], in ONE aggregate query.

    Counted: active documents whose type's use is sale (0) or return (1). ``subtotal``
    uses ``total_amount`` (tax included, as Bsale does) unless the setting
    ``SALES_SUMMARY_SUBTOTAL`` is ``"net"``. Sellers are sorted by full name.
    """
    column = "net_amount" if settings.SALES_SUMMARY_SUBTOTAL == "net" else "total_amount"
    documents = Document.objects.filter(
        state=State.ACTIVE,
        emission_date__range=(start, end),
        document_type__use__in=(DocumentUse.SALE, DocumentUse.RETURN),
        user__isnull=False,
    )
    if user_id is not None:
        documents = documents.filter(user_id=user_id)
    if office_id is not None:
        documents = documents.filter(office_id=office_id)
    rows = (
        documents.values("user_id", "user__first_name", "user__last_name")
        .annotate(
            sales=_sum_for_use(column, DocumentUse.SALE),
            returns=_sum_for_use(column, DocumentUse.RETURN),
            sales_tax=_sum_for_use("tax_amount", DocumentUse.SALE),
            returns_tax=_sum_for_use("tax_amount", DocumentUse.RETURN),
        )
        .order_by()
    )
    sellers = [
        SellerSummary(
            user_id=row["user_id"],
            first_name=row["user__first_name"],
            last_name=row["user__last_name"],
            sales=_cents(row["sales"]),
            returns=_cents(row["returns"]),
            sales_tax=_cents(row["sales_tax"]),
            returns_tax=_cents(row["returns_tax"]),
        )
        for row in rows
    ]
    sellers.sort(key=lambda s: (s.full_name.casefold(), s.user_id))
    return SalesSummary(start=start, end=end, sellers=sellers)
