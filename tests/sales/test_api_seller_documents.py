"""/v1/users/{id}/sales.json and /v1/users/{id}/returns.json."""

import datetime as dt

import pytest
from django.utils import timezone

from sales.models import DocumentUse
from tests.api_helpers import (
    AUTH_QUERIES,
    assert_error,
    assert_exact,
    follow,
    get,
    get_json,
    item_ids,
    seller_document_json,
    unix,
    url,
)
from tests.factories import CreditNoteTypeFactory, DocumentFactory, DocumentTypeFactory, UserFactory

AUG_3 = dt.date(2015, 8, 3)
T = unix(AUG_3)  # 1438560000
DAY = 86400
HUGE = "99999999999999999999999"
KINDS = pytest.mark.parametrize("kind", ["sales", "returns"])


@pytest.fixture
def seller(db):
    """A seller's documents around 2015-08-03, named by what they are."""
    user = UserFactory()
    boleta = DocumentTypeFactory(name="Boleta")
    factura = DocumentTypeFactory(name="Factura", code="33")
    nota = CreditNoteTypeFactory(name="Nota de crédito")
    guia = DocumentTypeFactory(name="Guía", code="52", use=DocumentUse.DISPATCH)
    liquidacion = DocumentTypeFactory(name="Liquidación", code="40", use=DocumentUse.SETTLEMENT)

    def make(doc_type, number, day=AUG_3, **kwargs):
        return DocumentFactory(
            document_type=doc_type, number=number, emission_date=day, user=user, **kwargs
        )

    docs = {
        "boleta": make(boleta, 4535370),
        "factura": make(factura, 77),
        "nota": make(nota, 50),
        "nota_next_day": make(nota, 60, AUG_3 + dt.timedelta(days=1)),
        "boleta_prev_day": make(boleta, 4535369, AUG_3 - dt.timedelta(days=1)),
        # Never listed:
        "void_sale": make(boleta, 4535371, state=1),
        "void_return": make(nota, 51, state=1),
        "dispatch": make(guia, 9),
        "settlement": make(liquidacion, 10),
        "other_seller": DocumentFactory(document_type=boleta, number=4535372, emission_date=AUG_3),
    }
    return user, docs


CASES = [
    ("sales", T, T, ["boleta", "factura"]),
    ("returns", T, T, ["nota"]),
    ("sales", T - DAY, T, ["boleta", "factura", "boleta_prev_day"]),  # id order
    ("returns", T, T + DAY, ["nota", "nota_next_day"]),  # inclusive
    ("sales", T + 3600, T + 50000, ["boleta", "factura"]),  # timestamps reduce to the UTC date
    ("sales", T + 5 * DAY, T + 6 * DAY, []),
]


@pytest.mark.parametrize(("kind", "start", "end", "expected"), CASES)
def test_only_the_sellers_active_documents_of_that_use_in_the_range(
    auth_client, seller, kind, start, end, expected
):
    user, docs = seller
    params = {"startdate": start, "enddate": end}
    payload = get_json(auth_client, f"/v1/users/{user.pk}/{kind}.json", params)
    assert_exact(
        payload,
        {
            "href": url(f"/v1/users/{user.pk}/{kind}.json?startdate={start}&enddate={end}"),
            "count": len(expected),
            "limit": 25,
            "offset": 0,
            "items": [seller_document_json(docs[name]) for name in expected],
        },
    )


def test_items_have_exactly_the_seeds_shape(auth_client, seller):
    user, docs = seller
    payload = get_json(auth_client, f"/v1/users/{user.pk}/sales", {"startdate": T, "enddate": T})
    boleta = docs["boleta"]
    assert_exact(
        payload["items"][0],
        {
            "href": f"http://api.example.com/v1/documents/{boleta.pk}.json",
            "id": boleta.pk,
            "name": "Boleta",
            "number": 4535370,
        },
    )
    note = get_json(auth_client, f"/v1/users/{user.pk}/returns", {"startdate": T, "enddate": T})
    assert note["items"][0]["name"] == "Nota de crédito"


def test_paging_with_next_keeping_the_dates(auth_client, seller):
    user, docs = seller
    params = {"startdate": T - DAY, "enddate": T, "limit": 2}
    first = get_json(auth_client, f"/v1/users/{user.pk}/sales.json", params)
    assert first["next"] == url(
        f"/v1/users/{user.pk}/sales.json?limit=2&offset=2&startdate={T - DAY}&enddate={T}"
    )
    second = follow(auth_client, first["next"])
    assert "next" not in second
    expected = [docs[n].pk for n in ("boleta", "factura", "boleta_prev_day")]
    assert item_ids(first) + item_ids(second) == expected
    assert second["count"] == 3


@KINDS
def test_dates_default_to_today_in_the_configured_time_zone(auth_client, kind):
    today = timezone.localdate()
    user = UserFactory()
    doc_type = DocumentTypeFactory() if kind == "sales" else CreditNoteTypeFactory()
    todays = DocumentFactory(document_type=doc_type, user=user, emission_date=today)
    DocumentFactory(document_type=doc_type, user=user, emission_date=today - dt.timedelta(days=1))
    payload = get_json(auth_client, f"/v1/users/{user.pk}/{kind}.json")
    assert item_ids(payload) == [todays.pk]
    assert payload["href"] == url(f"/v1/users/{user.pk}/{kind}.json")


@KINDS
def test_a_known_user_without_documents_is_an_empty_list(auth_client, reader, kind):
    payload = get_json(
        auth_client, f"/v1/users/{reader.pk}/{kind}.json", {"startdate": T, "enddate": T}
    )
    assert (payload["count"], payload["items"]) == (0, [])


@KINDS
def test_an_unknown_user_is_a_404(auth_client, reader, kind):
    for missing in (reader.pk + 1000, HUGE):
        assert_error(get(auth_client, f"/v1/users/{missing}/{kind}.json"), 404)


@KINDS
@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"startdate": "abc"}, "startdate"),
        ({"enddate": HUGE}, "enddate"),
        ({"startdate": str(T + DAY), "enddate": str(T)}, "startdate"),
        ({"limit": "-1"}, "limit"),
        ({"offset": "x"}, "offset"),
        ({"expand": "[office]"}, "expand"),
    ],
)
def test_malformed_parameters_are_a_400(auth_client, reader, kind, params, param):
    assert_error(get(auth_client, f"/v1/users/{reader.pk}/{kind}.json", params), 400, param)


# --- Queries -------------------------------------------------------------------------------------


@KINDS
@pytest.mark.parametrize("limit", [1, 50])
def test_queries_do_not_grow_with_the_page(auth_client, django_assert_num_queries, kind, limit):
    user = UserFactory()
    doc_type = DocumentTypeFactory() if kind == "sales" else CreditNoteTypeFactory()
    DocumentFactory.create_batch(60, document_type=doc_type, user=user, emission_date=AUG_3)
    params = {"startdate": T, "enddate": T, "limit": limit}
    # auth + 1 count + 1 page (the document type's name joined in).
    with django_assert_num_queries(AUTH_QUERIES + 2):
        payload = get_json(auth_client, f"/v1/users/{user.pk}/{kind}.json", params)
    assert len(payload["items"]) == limit


@KINDS
def test_an_empty_list_checks_that_the_user_exists(
    auth_client, reader, django_assert_num_queries, kind
):
    # auth + 1 count (0, so no page) + whether the user exists (to tell 404 from empty).
    with django_assert_num_queries(AUTH_QUERIES + 2):
        get_json(auth_client, f"/v1/users/{reader.pk}/{kind}.json", {"startdate": T, "enddate": T})
