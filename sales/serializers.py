"""The Bsale representations of document types and documents."""

from common.bsale import (
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
from sales.models import DocumentUse
from sales.selectors import ZERO, SalesSummary


def _is_credit_note(use: int) -> int:
    return flag(use == DocumentUse.RETURN)


DOCUMENT_TYPE_RESOURCE = Resource(
    name="document_types",
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
