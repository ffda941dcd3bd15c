"""django-filter pieces for Bsale's query parameters (ids, 0/1 states, Unix dates)."""

import functools

from django import forms
from django_filters import rest_framework as filters

from common.bsale.parameters import MAX_INT, parse_unix_date, parse_unix_date_range
from common.errors import InvalidInput, invalid_message


class IntegerFilter(filters.NumberFilter):
    """A whole number that fits a 64-bit column (``1.5`` or ``abc`` is a 400)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -MAX_INT)
        kwargs.setdefault("max_value", MAX_INT)
        super().__init__(*args, **kwargs)


class StateFilter(filters.TypedChoiceFilter):
    """Bsale's ``state``: 0 active, 1 inactive. ``field_name`` / ``method`` as usual."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [("0", "0"), ("1", "1")])
        kwargs.setdefault("coerce", int)
        super().__init__(*args, **kwargs)


class _UnixDateField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_unix_date(value, "date")
        except InvalidInput as exc:
            raise forms.ValidationError(exc.errors["date"][0]) from None


class _UnixDateRangeField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_unix_date_range(value, "range")
        except InvalidInput as exc:
            raise forms.ValidationError(exc.errors["range"][0]) from None


class UnixDateFilter(filters.Filter):
    """A Unix timestamp, filtered by its UTC date (``emissiondate=1438560000``)."""

    field_class = _UnixDateField


class UnixDateRangeFilter(filters.Filter):
    """``[start,end]`` Unix timestamps, inclusive, by UTC date."""

    field_class = _UnixDateRangeField

    def filter(self, qs, value):
        if value is None:
            return qs
        return qs.filter(**{f"{self.field_name}__range": value})


def filter_or_400(filterset_class, params, queryset, request=None):
    """Apply a FilterSet; a malformed value is a 400 naming its parameter."""
    names = frozenset(name for name in filterset_class.base_filters if name in params)
    if not names:
        # No filter asked for (the common case): no FilterSet, no form.
        return queryset
    filterset = _narrowed(filterset_class, names)(params, queryset=queryset, request=request)
    if not filterset.is_valid():
        errors = {name: [str(m) for m in messages] for name, messages in filterset.errors.items()}
        raise InvalidInput(invalid_message(errors), errors)
    return filterset.qs


@functools.lru_cache(maxsize=512)
def _narrowed(filterset_class, names: frozenset[str]):
    """``filterset_class`` with only the filters a request uses (a FilterSet copies and
    builds every one per request); independent filters: the same result."""
    if names == filterset_class.base_filters.keys():
        return filterset_class
    narrowed = type(filterset_class.__name__, (filterset_class,), {})
    narrowed.base_filters = {
        name: filter_ for name, filter_ in filterset_class.base_filters.items() if name in names
    }
    return narrowed
