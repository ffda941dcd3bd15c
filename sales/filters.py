from django_filters import rest_framework as filters

from common.filters import IntegerFilter, StateFilter, UnixDateFilter, UnixDateRangeFilter
from sales.models import Document, DocumentType, DocumentUse


class DocumentTypeFilter(filters.FilterSet):
    name = filters.CharFilter(field_name="name", lookup_expr="iexact")
    use = filters.TypedChoiceFilter(
        field_name="use", choices=[(str(v), str(v)) for v in DocumentUse.values], coerce=int
    )
    state = StateFilter(field_name="state")

    class Meta:
        model = DocumentType
        fields = []


class DocumentFilter(filters.FilterSet):
    number = IntegerFilter(field_name="number")
    documenttypeid = IntegerFilter(field_name="document_type_id")
    officeid = IntegerFilter(field_name="office_id")
    userid = IntegerFilter(field_name="user_id")
    state = StateFilter(field_name="state")
    emissiondate = UnixDateFilter(field_name="emission_date")
    emissiondaterange = UnixDateRangeFilter(field_name="emission_date")

    class Meta:
        model = Document
        fields = []
