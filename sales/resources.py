"""The Bsale representations of document types and documents, and the sales summary."""

import datetime as dt
from decimal import Decimal

import orjson
from django.db import connection

from common.bsale.resources import (
    INTEGER,
    STATE,
    Attr,
    Relation,
    Resource,
    date_to_unix,
    datetime_to_unix,
    flag,
)
from common.renderers import money_json
from sales import summary_cache
from sales.models import DocumentUse
from sales.selectors import (
    ZERO,
    SalesSummary,
    full_name,
    raw_sales_summary,
    sales_summary,
    seller_order,
)
from sales.summary_changes_sql import with_snapshot_sql
from sales.summary_sql import (
    summary_per_seller_sql,
    summary_per_seller_totals_sql,
    summary_text_sql,
)


def _is_credit_note(use: int) -> int:
    return flag(use == DocumentUse.RETURN)


DOCUMENT_TYPE_RESOURCE = Resource(
    name="document_types",
    permissions=("sales.view_documenttype",),
    attributes=[
        Attr("name", "name"),
        Attr("codeSii", "code"),
        Attr("use", "use", schema=INTEGER),
        Attr("isCreditNote", "use", _is_credit_note),
        Attr("isElectronicDocument", "is_electronic", flag),
        Attr("state", "state", schema=STATE),
    ],
)

DOCUMENT_RESOURCE = Resource(
    name="documents",
    permissions=("sales.view_document",),
    attributes=[
        Attr("emissionDate", "emission_date", date_to_unix),
        Attr("expirationDate", "expiration_date", date_to_unix, nullable=True),
        Attr("generationDate", "generation_date", datetime_to_unix),
        Attr("number", "number", schema=INTEGER),
        Attr("totalAmount", "total_amount", money_json),
        Attr("netAmount", "net_amount", money_json),
        Attr("taxAmount", "tax_amount", money_json),
        Attr("exemptAmount", "exempt_amount", money_json),
        Attr("state", "state", schema=STATE),
    ],
    relations=[
        Relation("document_type", "document_type", "document_types"),
        Relation("office", "office", "offices"),
        Relation("user", "user", "users"),
    ],
)

# The items of a seller's sales and returns: ``{href, id, name, number}``.
SELLER_DOCUMENT_RESOURCE = Resource(
    name="seller_documents",
    permissions=("sales.view_document", "sales.view_documenttype"),
    path="documents",
    attributes=[Attr("name", "document_type__name"), Attr("number", "number", schema=INTEGER)],
)


def sales_summary_payload(summary: SalesSummary, base_url: str) -> dict:
    """Bsale's ``sales_summary.json`` body; amounts are exact JSON numbers."""
    start, end = date_to_unix(summary.start), date_to_unix(summary.end)
    users, dates = f"{base_url}/v1/users/", f"?startdate={start}&enddate={end}"
    total = ZERO
    sellers = []
    for seller in summary.sellers:  # ~1,000 sellers: plain dicts, names looked up once
        user_id, subtotal = seller.user_id, seller.sales - seller.returns
        total += subtotal
        sellers.append(
            {
                "href": f"{users}{user_id}.json",
                "id": user_id,
                "fullName": seller.full_name,
                "subtotal": money_json(subtotal),
                "taxSubtotal": money_json(seller.tax_subtotal),
                "sales": {"href": f"{users}{user_id}/sales.json{dates}"},
                "returns": {"href": f"{users}{user_id}/returns.json{dates}"},
            }
        )
    return {
        "startDate": start,
        "endDate": end,
        "total": money_json(total),
        "sellers": sellers,
    }


def sales_summary_json(
    *,
    start: dt.date,
    end: dt.date,
    base_url: str,
    user_id: int | None = None,
    raw: bool = False,
) -> tuple[dict, int]:
    """Bsale's ``sales_summary.json`` body and its number of sellers, ready to render.

    On PostgreSQL the database hands over each seller's amounts as JSON number text
    (``summary_sql.summary_text_sql``) and this writes the objects around them; elsewhere it
    is ``sales_summary_payload``. Same bytes either way, in the same order
    (tests/sales/test_api_sales_summary.py checks both against each other).
    Summed from the sales totals, and served again while exact (``sales.summary_cache``);
    ``raw``: from the documents (the tests' oracle, and the bench's "SQL alone" reference).
    """
    if connection.vendor != "postgresql":
        summarize = raw_sales_summary if raw else sales_summary
        summary = summarize(start=start, end=end, user_id=user_id)
        return sales_summary_payload(summary, base_url), len(summary.sellers)
    first, last = date_to_unix(start), date_to_unix(end)
    cacheable = not raw and summary_cache.usable(connection)
    if cacheable:
        cache_key = summary_cache.key(start, end, user_id, base_url)
        cached = summary_cache.get(cache_key, connection)
        if cached is not None:
            return _summary_body(first, last, *cached)
    per_seller_sql = summary_per_seller_sql if raw else summary_per_seller_totals_sql
    per_seller, params = per_seller_sql(start, end, user_id, signed=True)
    sql = summary_text_sql(per_seller, from_totals=not raw)
    with connection.cursor() as cursor:
        cursor.execute(with_snapshot_sql(sql) if cacheable else sql, params)
        rows = cursor.fetchall()
    if cacheable:
        snapshot = rows[0][0]
        rows = [row[1:] for row in rows if row[3] is not None]
    rows.sort(key=lambda row: seller_order(row[0], row[1], row[2]))
    users = orjson.dumps(f"{base_url}/v1/users/").decode()[1:-1]
    dates = f"?startdate={first}&enddate={last}"
    # ``sales_summary_payload``'s objects, written as text: ~1,000 of them per call.
    sellers = ",".join(
        f'{{"href":"{users}{seller}.json","id":{seller},'
        f'"fullName":{orjson.dumps(full_name(first_name, last_name)).decode()},'
        f'"subtotal":{subtotal},"taxSubtotal":{tax},'
        f'"sales":{{"href":"{users}{seller}/sales.json{dates}"}},'
        f'"returns":{{"href":"{users}{seller}/returns.json{dates}"}}}}'
        for first_name, last_name, seller, subtotal, tax in rows
    )
    total = orjson.dumps(money_json(sum((Decimal(row[3]) for row in rows), ZERO))).decode()
    computed = (total, f"[{sellers}]", len(rows))
    if cacheable:
        summary_cache.put(cache_key, snapshot, computed, size=len(sellers))
    return _summary_body(first, last, *computed)


def _summary_body(first: int, last: int, total: str, sellers: str, count: int) -> tuple[dict, int]:
    return {
        "startDate": first,
        "endDate": last,
        "total": orjson.Fragment(total),
        "sellers": orjson.Fragment(sellers),
    }, count
