"""common.filters.filter_or_400: only the filters a request uses are built, with the
same results and the same errors as the whole FilterSet."""

import pytest
from django.http import QueryDict

from common.errors import InvalidInput
from common.filters import _narrowed, filter_or_400
from sales.filters import DocumentFilter
from sales.models import Document
from tests.factories import DocumentFactory


def test_a_request_builds_only_the_filters_it_names():
    narrowed = _narrowed(DocumentFilter, frozenset({"officeid", "state"}))
    assert list(narrowed.base_filters) == ["officeid", "state"]  # declaration order
    assert _narrowed(DocumentFilter, frozenset({"state", "officeid"})) is narrowed  # cached
    assert list(DocumentFilter.base_filters) == [
        "number",
        "documenttypeid",
        "officeid",
        "userid",
        "state",
        "emissiondate",
        "emissiondaterange",
    ]  # the original is untouched
    everything = frozenset(DocumentFilter.base_filters)
    assert _narrowed(DocumentFilter, everything) is DocumentFilter


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["officeid={office}", "officeid={office}&state=0", "state=1", "number={number}&clientid=9"],
)
def test_narrowed_and_whole_filtersets_agree(query):
    document = DocumentFactory(state=0)
    DocumentFactory(state=1)
    params = QueryDict(query.format(office=document.office_id, number=document.number))
    queryset = Document.objects.order_by("id")
    whole = DocumentFilter(params, queryset=queryset).qs
    assert list(filter_or_400(DocumentFilter, params, queryset)) == list(whole)


@pytest.mark.django_db
def test_the_first_bad_filter_in_declaration_order_is_named():
    params = QueryDict("state=7&officeid=abc")
    with pytest.raises(InvalidInput) as raised:
        filter_or_400(DocumentFilter, params, Document.objects.all())
    assert list(raised.value.errors) == ["officeid", "state"]
    assert "officeid" in str(raised.value)
