from django_filters import rest_framework as filters

from common.filters import StateFilter
from offices.models import Office


class OfficeFilter(filters.FilterSet):
    name = filters.CharFilter(field_name="name", lookup_expr="iexact")
    city = filters.CharFilter(field_name="city", lookup_expr="iexact")
    state = StateFilter(field_name="state")

    class Meta:
        model = Office
        fields = []
