from common.viewsets import BsaleViewSet
from sales.filters import DocumentFilter, DocumentTypeFilter
from sales.models import Document, DocumentType
from sales.selectors import document_list, document_type_list
from sales.serializers import DOCUMENT_RESOURCE, DOCUMENT_TYPE_RESOURCE


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
