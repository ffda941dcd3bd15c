"""OpenAPI of the per-seller reads under /v1/users/ (drf-spectacular)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from common.openapi import (
    ERROR_RESPONSES,
    NOT_FOUND,
    PAGING_PARAMETERS,
    date_range_parameters,
    envelope_schema,
    ref,
)
from sales.resources import SELLER_DOCUMENT_RESOURCE

NUMBER = {"type": "number"}
SALES_SUMMARY_SCHEMA = {
    "type": "object",
    "required": ["startDate", "endDate", "total", "sellers"],
    "properties": {
        "startDate": {"type": "integer"},
        "endDate": {"type": "integer"},
        "total": NUMBER,
        "sellers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "href",
                    "id",
                    "fullName",
                    "subtotal",
                    "taxSubtotal",
                    "sales",
                    "returns",
                ],
                "properties": {
                    "href": {"type": "string", "format": "uri"},
                    "id": {"type": "integer"},
                    "fullName": {"type": "string"},
                    "subtotal": NUMBER,
                    "taxSubtotal": NUMBER,
                    "sales": {"type": "object", "properties": {"href": {"type": "string"}}},
                    "returns": {"type": "object", "properties": {"href": {"type": "string"}}},
                },
            },
        },
    },
}
SELLER_DOCUMENTS_OPENAPI = {
    "parameters": [*date_range_parameters(), *PAGING_PARAMETERS],
    "responses": {
        200: OpenApiResponse(envelope_schema(ref(SELLER_DOCUMENT_RESOURCE))),
        **ERROR_RESPONSES,
        **NOT_FOUND,
    },
}
SALES_SUMMARY_OPENAPI = {
    "parameters": [
        *date_range_parameters(),
        OpenApiParameter("userid", OpenApiTypes.INT, description="Only this seller."),
    ],
    "responses": {200: OpenApiResponse(SALES_SUMMARY_SCHEMA), **ERROR_RESPONSES, **NOT_FOUND},
}
