from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action

from common.bsale.links import base_url
from common.bsale.parameters import parse_int
from common.bsale.payloads import list_payload
from common.bsale.row_plans import Representation
from common.dates import parse_date_range
from common.errors import NotFound
from common.renderers import json_response
from common.viewsets import ApiViewSet, BsaleViewSet
from sales.filters import DocumentFilter, DocumentTypeFilter
from sales.models import Document, DocumentType, DocumentUse
from sales.permissions import VIEW_DOCUMENT
from sales.resources import (
    DOCUMENT_RESOURCE,
    DOCUMENT_TYPE_RESOURCE,
    SELLER_DOCUMENT_RESOURCE,
    sales_summary_json,
)
from sales.schemas import SALES_SUMMARY_OPENAPI, SELLER_DOCUMENTS_OPENAPI
from sales.selectors import document_list, document_type_list, seller_documents_filter
from users.models import User
from users.permissions import VIEW_USER
from users.selectors import user_list


class DocumentTypeViewSet(BsaleViewSet):
    resource = DOCUMENT_TYPE_RESOURCE
    filterset_class = DocumentTypeFilter
    permission_model = DocumentType

    def get_queryset(self):
        return document_type_list()


class DocumentViewSet(BsaleViewSet):
    resource = DOCUMENT_RESOURCE
    filterset_class = DocumentFilter
    permission_model = Document

    def get_queryset(self):
        return document_list()


class SellerViewSet(ApiViewSet):
    """Per-seller reads under ``/v1/users/``: registered on the ``users`` prefix."""

    permission_model = User
    # Summaries and a seller's documents show documents: both view permissions.
    required_perms = (VIEW_USER, VIEW_DOCUMENT)

    def get_queryset(self):
        return user_list()

    def _require_user(self, user_id: int) -> None:
        if not User.objects.filter(pk=user_id).exists():
            raise NotFound(f"There is no user with id {user_id}.")

    @extend_schema(**SALES_SUMMARY_OPENAPI)
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
        documents = seller_documents_filter(user_id=user_id, use=use, start=start, end=end)
        payload = list_payload(request, documents, representation)
        if payload["count"] == 0:
            self._require_user(user_id)
        return json_response(request, payload)

    @extend_schema(**SELLER_DOCUMENTS_OPENAPI)
    @action(detail=True, url_path="sales")
    def sales(self, request, pk=None):
        """The seller's sale documents in ``startdate..enddate``."""
        return self._seller_documents(request, pk, DocumentUse.SALE)

    @extend_schema(**SELLER_DOCUMENTS_OPENAPI)
    @action(detail=True, url_path="returns")
    def returns(self, request, pk=None):
        """The seller's credit notes in ``startdate..enddate``."""
        return self._seller_documents(request, pk, DocumentUse.RETURN)
