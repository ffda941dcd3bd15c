"""The benchmark's references answer exactly what our API answers (bench/, ``make bench``).

- The floor (bench/floor_views.py: JWT, raw SQL, orjson) must return the SAME BYTES as
  the real endpoint for the same request, or ``ours / floor`` would compare different
  work. Its SQL is portable, so this runs on SQLite and on PostgreSQL.
- The usual approach (bench/usual_views.py: DRF ModelSerializer + drf-flex-fields) must
  return the same JSON. It needs the ``bench`` extra (drf-flex-fields); without it those
  cases are skipped.

This module is its own URLconf: the app's URLs plus the references, as bench.urls mounts
them under the bench settings.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from decimal import Decimal

import pytest
from django.urls import include, path
from rest_framework.test import APIClient

from bench import floor_views
from bench.urls import computed_summary
from tests.conftest import token_for
from tests.factories import (
    CreditNoteTypeFactory,
    DocumentFactory,
    DocumentTypeFactory,
    OfficeFactory,
    UserFactory,
)

HAS_FLEX_FIELDS = importlib.util.find_spec("rest_flex_fields") is not None

urlpatterns = [*floor_views.urlpatterns]
if HAS_FLEX_FIELDS:
    from bench import usual_views

    urlpatterns += usual_views.urlpatterns
urlpatterns += [
    path("bench/computed/v1/users/sales_summary.json", computed_summary),
    path("", include("config.urls")),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

DAY = dt.date(2024, 3, 1)


def unix(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


@pytest.fixture
def book(reader):
    """Offices, sellers (accents, no office, inactive), every document use, void ones."""
    lima, cusco = OfficeFactory(name="Lima Centro"), OfficeFactory(name="Cusco", is_virtual=True)
    daniela = UserFactory(first_name="Daniela", last_name="Valdés", office=lima)
    angel = UserFactory(first_name="Ángel", last_name="Núñez", office=cusco)
    zoe = UserFactory(first_name="zoe", last_name="Arias", office=None)
    UserFactory(first_name="Inactiva", last_name="Pérez", office=lima, is_active=False)
    boleta = DocumentTypeFactory(name="Boleta", code="39")
    factura = DocumentTypeFactory(name="Factura", code="33", is_electronic=False)
    nota = CreditNoteTypeFactory()
    guia = DocumentTypeFactory(name="Guía de despacho", code="52", use=2)
    amounts = [
        (Decimal("100.00"), Decimal("19.00")),
        (Decimal("250000.50"), Decimal("47500.25")),
        (Decimal("0.25"), Decimal("0.00")),
    ]
    sellers = [daniela, angel, zoe, None]
    kinds = [boleta, boleta, factura, nota, guia]
    for i in range(60):
        net, tax = amounts[i % len(amounts)]
        DocumentFactory(
            document_type=kinds[i % len(kinds)],
            emission_date=DAY + dt.timedelta(days=i % 40),
            expiration_date=None if i % 3 else DAY + dt.timedelta(days=30 + i),
            office=None if i % 7 == 0 else (lima if i % 2 else cusco),
            user=sellers[i % len(sellers)],
            net_amount=net,
            tax_amount=tax,
            exempt_amount=Decimal("0.00"),
            total_amount=net + tax,
            state=1 if i % 11 == 0 else 0,
        )
    return {"daniela": daniela, "angel": angel, "zoe": zoe}


@pytest.fixture
def client(reader):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(reader)}")
    return client


def requests(book) -> list[str]:
    """The bench's scenarios (bench/run.py), plus paging and edge cases of the same shapes."""
    start, end = unix(DAY + dt.timedelta(days=5)), unix(DAY + dt.timedelta(days=35))
    wide = f"startdate={unix(DAY)}&enddate={unix(DAY + dt.timedelta(days=365))}"
    docs = f"/v1/documents.json?emissiondaterange=[{start},{end}]"
    expand = "expand=[document_type,office,user]"
    seller = book["daniela"].pk
    return [
        "/v1/users.json?limit=50&expand=[office]",
        "/v1/users.json?limit=2&offset=1&expand=[office]",
        "/v1/users.json?offset=1000&expand=[office]",
        f"/v1/users/{book['daniela'].pk}.json",
        f"/v1/users/{book['zoe'].pk}.json",
        f"{docs}&limit=50&{expand}",
        f"{docs}&limit=3&offset=2&{expand}",
        f"/v1/documents.json?emissiondaterange=[{unix(DAY)},{unix(DAY + dt.timedelta(days=400))}]&limit=50&{expand}",
        f"/v1/users/sales_summary.json?startdate={start}&enddate={end}",
        f"/v1/users/sales_summary.json?{wide}",
        f"/v1/users/sales_summary.json?startdate={unix(DAY - dt.timedelta(days=9))}&enddate={unix(DAY - dt.timedelta(days=1))}",
        f"/v1/users/{seller}/sales.json?startdate={start}&enddate={end}&limit=50",
        f"/v1/users/{seller}/sales.json?{wide}&limit=2&offset=1",
    ]


def _ours(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response


def test_the_floor_returns_the_same_bytes_as_our_api(client, book):
    for url in requests(book):
        ours = _ours(client, url)
        floor = client.get(f"/bench/floor{url}")
        assert floor.status_code == 200, (url, floor.content)
        assert floor["Content-Type"] == ours["Content-Type"] == "application/json"
        assert floor.content == ours.content, url


def test_ours_computed_returns_the_same_bytes_as_ours(client, book):
    """``make bench``'s "computed" variant: the summary with its cache off."""
    for url in requests(book):
        if "sales_summary" in url:
            ours = _ours(client, url)
            assert client.get(f"/bench/computed{url}").content == ours.content, url


def test_the_floor_makes_the_queries_it_claims(client, book, django_assert_num_queries):
    start, end = unix(DAY), unix(DAY + dt.timedelta(days=30))
    with django_assert_num_queries(2):  # the count (and first id), the page
        client.get(
            f"/bench/floor/v1/documents.json?emissiondaterange=[{start},{end}]&limit=50"
            "&expand=[document_type,office,user]"
        )
    with django_assert_num_queries(2):
        client.get("/bench/floor/v1/users.json?limit=50&expand=[office]")
    with django_assert_num_queries(1):
        client.get(f"/bench/floor/v1/users/{book['angel'].pk}.json")
    with django_assert_num_queries(1):
        client.get(f"/bench/floor/v1/users/sales_summary.json?startdate={start}&enddate={end}")


def test_the_floor_verifies_the_token(book):
    anonymous = APIClient()
    assert anonymous.get("/bench/floor/v1/users.json").status_code == 401
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged")
    assert forged.get(f"/bench/floor/v1/users/{book['zoe'].pk}.json").status_code == 401


def test_the_floor_reads_bsales_access_token_header(reader, book):
    client = APIClient()
    client.credentials(HTTP_ACCESS_TOKEN=token_for(reader))
    assert client.get(f"/bench/floor/v1/users/{book['zoe'].pk}.json").status_code == 200


def test_the_floor_answers_an_unknown_user_with_a_404(client, book):
    assert client.get("/bench/floor/v1/users/999999.json").status_code == 404


@pytest.mark.skipif(not HAS_FLEX_FIELDS, reason="the usual approach needs the bench extra")
def test_the_usual_approach_returns_the_same_json_as_our_api(client, book):
    for url in requests(book):
        ours = _ours(client, url)
        usual = client.get(f"/bench/usual{url}")
        assert usual.status_code == 200, (url, usual.content)
        assert usual.json() == ours.json(), url
        assert list(usual.json()) == list(ours.json()), url  # key order too
