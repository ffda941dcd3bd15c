from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action

from common.bsale import Representation, base_url, list_payload, parse_int
from common.dates import parse_date_range
from common.errors import NotFound
from common.openapi import (
    ERROR_RESPONSES,
    NOT_FOUND,
    PAGING_PARAMETERS,
    date_range_parameters,
    envelope_schema,
    ref,
)
from common.renderers import json_response
from common.viewsets import BsaleViewSet
from sales.models import DocumentUse
from sales.selectors import seller_documents
from sales.serializers import SELLER_DOCUMENT_RESOURCE, sales_summary_json
from users.filters import UserFilter
from users.models import User
from users.selectors import user_list
from users.serializers import USER_RESOURCE

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
SELLER_DOCUMENTS_SCHEMA = {
    "parameters": [*date_range_parameters(), *PAGING_PARAMETERS],
    "responses": {
        200: OpenApiResponse(envelope_schema(ref(SELLER_DOCUMENT_RESOURCE))),
        **ERROR_RESPONSES,
        **NOT_FOUND,
    },
}


class UserViewSet(BsaleViewSet):
    resource = USER_RESOURCE
    filterset_class = UserFilter
    permission_model = User

    def get_queryset(self):
        return user_list()

    @property
    def required_perms(self) -> tuple[str, ...] | None:
        # Summaries and a seller's documents show documents: both view permissions.
        if self.action in ("sales_summary", "sales", "returns"):
            return ("users.view_user", "sales.view_document")
        return None  # the model's view permission

    def _require_user(self, user_id: int) -> None:
        if not User.objects.filter(pk=user_id).exists():
            raise NotFound(f"There is no user with id {user_id}.")

    @extend_schema(
        parameters=[
            *date_range_parameters(),
            OpenApiParameter("userid", OpenApiTypes.INT, description="Only this seller."),
        ],
        responses={200: OpenApiResponse(SALES_SUMMARY_SCHEMA), **ERROR_RESPONSES, **NOT_FOUND},
    )
    @action(detail=False, url_path="sales_summary")
    def sales_summary(self, request):
        """Per-seller sales minus returns in ``startdate..enddate`` (default today)."""
        start, end = parse_date_range(request.query_params)
        user_id = None
        if request.query_params.get("userid"):
            user_id = parse_int(request.query_params["userid"], "userid")
        payload, sellers = sales_summary_json(
            start=start, end=end, base_url=base_url(request), user_id=user_id
        )
        if user_id is not None and not sellers:
            self._require_user(user_id)
        return json_response(request, payload)

    def _seller_documents(self, request, pk, use: DocumentUse):
        start, end = parse_date_range(request.query_params)
        representation = Representation.for_request(
            request, SELLER_DOCUMENT_RESOURCE, allow_fields=False
        )
        user_id = int(pk)
        queryset = seller_documents(user_id=user_id, use=use, start=start, end=end)
        payload = list_payload(request, queryset, representation)
        if payload["count"] == 0:
            self._require_user(user_id)
        return json_response(request, payload)

    @extend_schema(**SELLER_DOCUMENTS_SCHEMA)
    @action(detail=True, url_path="sales")
    def sales(self, request, pk=None):
        """The seller's sale documents in ``startdate..enddate``."""
        return self._seller_documents(request, pk, DocumentUse.SALE)

    @extend_schema(**SELLER_DOCUMENTS_SCHEMA)
    @action(detail=True, url_path="returns")
    def returns(self, request, pk=None):
        """The seller's credit notes in ``startdate..enddate``."""
        return self._seller_documents(request, pk, DocumentUse.RETURN)
