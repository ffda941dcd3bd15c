from django_filters import rest_framework as filters

from common.filters import IntegerFilter, StateFilter
from users.models import User


class UserFilter(filters.FilterSet):
    firstname = filters.CharFilter(field_name="first_name", lookup_expr="iexact")
    lastname = filters.CharFilter(field_name="last_name", lookup_expr="iexact")
    email = filters.CharFilter(field_name="email", lookup_expr="iexact")
    officeid = IntegerFilter(field_name="office_id")
    state = StateFilter(method="filter_state")

    class Meta:
        model = User
        fields = []

    def filter_state(self, queryset, name, value):
        # Bsale's state is derived: 0 active, 1 inactive.
        return queryset.filter(is_active=value == 0)
