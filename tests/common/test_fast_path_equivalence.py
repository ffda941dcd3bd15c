"""The compiled fast path (common/bsale/fast_path.py) returns exactly what the plain ORM path
returns, for every resource x fields x expand x filter combination, lists and details.

The combinations come from the declarations: every ``Resource`` served by a ``BsaleViewSet``
(found through the URLconf), its keys one at a time, none and all of them; every expand path
up to the maximum depth, none and all; every filter of its filterset with a value read from
the data, and none. Each list is also read as a page inside the results, where the fast
path's ``pk >= first`` seek and ``IN (page)`` differ most from the ORM's slice.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory.random
import orjson
import pytest
from django.db.models import Max, Min
from django.test import RequestFactory, override_settings
from django.urls import get_resolver
from django_filters import rest_framework as filters
from rest_framework.request import Request

from common.bsale import fast_path
from common.bsale.payloads import detail_payload, list_payload
from common.bsale.resources import RESOURCES, date_to_unix
from common.bsale.row_plans import Representation
from common.filters import (
    IntegerFilter,
    StateFilter,
    UnixDateFilter,
    UnixDateRangeFilter,
    filter_or_400,
)
from common.openapi import expand_paths
from common.viewsets import BsaleViewSet
from sales.models import DocumentUse
from sales.resources import SELLER_DOCUMENT_RESOURCE
from sales.selectors import seller_documents_filter
from tests.factories import (
    CreditNoteTypeFactory,
    DocumentFactory,
    DocumentTypeFactory,
    OfficeFactory,
    UserFactory,
)

HOST = "api.example.com"
PAGES = ({}, {"limit": "2", "offset": "1"})
FAST_QUERIES = fast_path.FastQueries


def _viewsets() -> dict[str, type[BsaleViewSet]]:
    """Resource name -> the viewset serving it, from the URLconf."""
    found: dict[str, type[BsaleViewSet]] = {}

    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns)
                continue
            cls = getattr(pattern.callback, "cls", None)
            if cls is not None and issubclass(cls, BsaleViewSet):
                found[cls.resource.name] = cls

    walk(get_resolver().url_patterns)
    return found


VIEWSETS = _viewsets()


def test_every_resource_is_compared():
    """A new resource is either served by a BsaleViewSet or compared below by hand."""
    assert set(RESOURCES) == set(VIEWSETS) | {SELLER_DOCUMENT_RESOURCE.name}


@pytest.fixture
def dataset(db):
    """A small, seeded dataset with NULL relations, two uses, states and dates."""
    factory.random.reseed_random("fast-path-equivalence")
    offices = [OfficeFactory(city="Lima"), OfficeFactory(city="Cusco", state=1)]
    users = [
        UserFactory(office=offices[0]),
        UserFactory(office=offices[1], is_active=False),
        UserFactory(office=None),
    ]
    types = [DocumentTypeFactory(), CreditNoteTypeFactory(is_electronic=False, state=1)]
    for i in range(9):
        DocumentFactory(
            document_type=types[i % 2],
            office=None if i % 4 == 3 else offices[i % 2],
            user=None if i % 5 == 4 else users[i % 3],
            emission_date=dt.date(2026, 1, 1) + dt.timedelta(days=10 * i),
            expiration_date=None if i % 2 else dt.date(2026, 6, 1),
            total_amount=Decimal("119.50") + i,
            state=i % 3 == 2,
        )
    return users


def _filter_values(filterset_class, queryset) -> list[dict[str, str]]:
    """One query string per filter of the filterset, its value read from the data."""
    rows = list(queryset)
    params: list[dict[str, str]] = [{}]
    for name, filter_ in filterset_class.base_filters.items():
        field = filter_.field_name
        # From the middle on, the first row that has a value: results are a true subset.
        middle = next(
            row for row in rows[len(rows) // 2 :] + rows if getattr(row, field, 0) is not None
        )
        if isinstance(filter_, StateFilter):
            values = ["0", "1"]
        elif isinstance(filter_, UnixDateRangeFilter):
            bounds = queryset.aggregate(low=Min(field), high=Max(field))
            values = [f"[{date_to_unix(bounds['low'])},{date_to_unix(middle.emission_date)}]"]
        elif isinstance(filter_, UnixDateFilter):
            values = [str(date_to_unix(getattr(middle, field)))]
        elif isinstance(filter_, IntegerFilter | filters.TypedChoiceFilter):
            values = [str(int(getattr(middle, field)))]
        elif isinstance(filter_, filters.CharFilter):
            values = [getattr(middle, field).upper()]  # iexact
        else:
            raise AssertionError(f"no value for the filter {name} ({type(filter_).__name__})")
        params += [{name: value} for value in values]
    return params


def _request(path: str, params: dict[str, str], user) -> Request:
    request = Request(RequestFactory().get(path, params, HTTP_HOST=HOST))
    request.user = user
    return request


def _both_paths(monkeypatch, build) -> tuple[bytes, bytes]:
    """``build()`` served by the fast path, then by the ORM path: both as the JSON bytes
    the renderer writes (amounts are ``orjson.Fragment``, equal only as text)."""
    used = []
    monkeypatch.setattr(fast_path, "FastQueries", lambda *a: used.append(1) or FAST_QUERIES(*a))
    fast = orjson.dumps(build())
    assert used, "the fast path did not serve this request"
    monkeypatch.setattr(fast_path, "ENABLED", False)
    used.clear()
    plain = orjson.dumps(build())
    assert not used, "the ORM path used the fast path"
    monkeypatch.setattr(fast_path, "ENABLED", True)
    return fast, plain


def _shapes(resource):
    """(fields, expand) query parameters: none, each key alone and all; none, each
    expand path and all of them."""
    fields = [None, *resource.keys, ",".join(resource.keys)]
    paths = expand_paths(resource)
    expands = [None, *paths] + ([",".join(paths)] if paths else [])
    return [
        {k: v for k, v in (("fields", f), ("expand", e)) if v is not None}
        for f in fields
        for e in expands
    ]


@pytest.mark.parametrize("name", sorted(VIEWSETS))
@override_settings(ALLOWED_HOSTS=[HOST])
def test_lists_and_details_equal(name, dataset, admin_user, monkeypatch):
    viewset = VIEWSETS[name]
    resource = viewset.resource
    base = viewset().get_queryset()
    path = f"/v1/{resource.path}.json"
    combinations = 0
    for shape in _shapes(resource):
        for filter_params in _filter_values(viewset.filterset_class, base.all()):
            for page in PAGES:
                params = {**shape, **filter_params, **page}

                def build(params=params):
                    request = _request(path, params, admin_user)
                    queryset = filter_or_400(viewset.filterset_class, params, base.all())
                    return list_payload(request, queryset, resource=resource)

                fast, plain = _both_paths(monkeypatch, build)
                assert fast == plain, params
                combinations += 1
        for pk in [*base.values_list("pk", flat=True), 999999]:

            def detail(pk=pk, shape=shape):
                request = _request(f"/v1/{resource.path}/{pk}.json", shape, admin_user)
                try:
                    return detail_payload(request, base.all(), pk, resource)
                except Exception as exc:  # the 404: the same error either way
                    return repr(exc)

            fast, plain = _both_paths(monkeypatch, detail)
            assert fast == plain, (pk, shape)
    # Something was compared, and lists were not all empty.
    assert combinations >= len(_shapes(resource)) * 2


@pytest.mark.parametrize("use", [DocumentUse.SALE, DocumentUse.RETURN])
@override_settings(ALLOWED_HOSTS=[HOST])
def test_seller_documents_equal(use, dataset, admin_user, monkeypatch):
    """A seller's sales and returns: filtered by seller, use and dates (no fields, no
    relations to expand), the fast path's filter written as SQL (sales/seller_documents_sql.py)
    against the ORM's queryset."""
    ranges = [
        (dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 2), dt.date(2026, 3, 2)),  # one day, a document's
        (dt.date(2026, 3, 2), dt.date(2026, 3, 1)),  # backwards: nothing
    ]
    for user in [*dataset, None]:
        for start, end in ranges:
            for page in PAGES:
                user_id = user.pk if user else 999999

                def build(user_id=user_id, start=start, end=end, page=page):
                    request = _request(f"/v1/users/{user_id}/sales.json", page, admin_user)
                    representation = Representation.for_request(
                        request, SELLER_DOCUMENT_RESOURCE, allow_fields=False
                    )
                    documents = seller_documents_filter(
                        user_id=user_id, use=use, start=start, end=end
                    )
                    return list_payload(request, documents, representation)

                fast, plain = _both_paths(monkeypatch, build)
                assert fast == plain
