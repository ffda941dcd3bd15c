"""/v1/users/sales_summary.json: per-seller sales minus returns, checked against hand sums."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from sales.models import DocumentUse
from tests.api_helpers import (
    AUTH_QUERIES,
    assert_error,
    assert_exact,
    get,
    get_json,
    unix,
    url,
)
from tests.factories import CreditNoteTypeFactory, DocumentFactory, DocumentTypeFactory, UserFactory

PATH = "/v1/users/sales_summary.json"
HUGE = "99999999999999999999999"
AUG_3 = dt.date(2015, 8, 3)
T = unix(AUG_3)  # 1438560000, the seed's date
DAY = 86400


def seller_json(user, subtotal: float, tax_subtotal: float, start: int = T, end: int = T) -> dict:
    dates = f"startdate={start}&enddate={end}"
    return {
        "href": url(f"/v1/users/{user.pk}.json"),
        "id": user.pk,
        "fullName": f"{user.first_name} {user.last_name}",
        "subtotal": subtotal,
        "taxSubtotal": tax_subtotal,
        "sales": {"href": url(f"/v1/users/{user.pk}/sales.json?{dates}")},
        "returns": {"href": url(f"/v1/users/{user.pk}/returns.json?{dates}")},
    }


def doc(doc_type, user, day=AUG_3, *, net: str, tax: str, state: int = 0, exempt: str = "0"):
    """A document whose total is net + tax + exempt."""
    net_, tax_, exempt_ = Decimal(net), Decimal(tax), Decimal(exempt)
    return DocumentFactory(
        document_type=doc_type,
        user=user,
        emission_date=day,
        state=state,
        net_amount=net_,
        tax_amount=tax_,
        exempt_amount=exempt_,
        total_amount=net_ + tax_ + exempt_,
    )


@pytest.fixture
def book(db):
    """Three sellers on 2015-08-03, plus everything that must not be counted.

    Daniela Valdes: sales 119.00 (100 + 19) and 238.00 (200 + 38), a return of 59.50
        (50 + 9.50): subtotal 297.50, tax 47.50, net 250.00.
    Andrés Oyarzo: one sale of 1000.00 (840.34 + 159.66): subtotal 1000.00, tax 159.66.
    Zoe Ruiz: only a return of 11.90 (10 + 1.90): subtotal -11.90, tax -1.90, net -10.00.
    Total: 297.50 + 1000.00 - 11.90 = 1285.60.
    """
    boleta = DocumentTypeFactory(name="Boleta")
    factura = DocumentTypeFactory(name="Factura", code="33")
    nota = CreditNoteTypeFactory()
    guia = DocumentTypeFactory(name="Guía", code="52", use=DocumentUse.DISPATCH)
    liquidacion = DocumentTypeFactory(name="Liquidación", code="40", use=DocumentUse.SETTLEMENT)
    daniela = UserFactory(first_name="Daniela", last_name="Valdes")
    andres = UserFactory(first_name="Andrés", last_name="Oyarzo")
    zoe = UserFactory(first_name="Zoe", last_name="Ruiz")
    nobody = UserFactory(first_name="Aaron", last_name="Void")

    doc(boleta, daniela, net="100", tax="19")
    doc(factura, daniela, net="200", tax="38")
    doc(nota, daniela, net="50", tax="9.50")
    doc(boleta, andres, net="840.34", tax="159.66")
    doc(nota, zoe, net="10", tax="1.90")
    # Not counted on 2015-08-03:
    doc(boleta, daniela, net="5000", tax="950", state=1)  # void
    doc(nota, andres, net="70", tax="13.30", state=1)  # void return
    doc(guia, daniela, net="700", tax="133")  # dispatch
    doc(liquidacion, andres, net="800", tax="152")  # settlement
    doc(boleta, nobody, net="1", tax="0.19", state=1)  # only void: not a seller
    doc(boleta, None, net="300", tax="57")  # no seller
    # Outside 2015-08-03, inside 2015-08-02 .. 2015-08-04:
    doc(boleta, daniela, AUG_3 - dt.timedelta(days=1), net="1000", tax="190")
    doc(nota, andres, AUG_3 + dt.timedelta(days=1), net="100", tax="19")
    # Far outside:
    doc(boleta, zoe, dt.date(2015, 7, 1), net="99", tax="18.81")
    return {"daniela": daniela, "andres": andres, "zoe": zoe, "nobody": nobody}


@pytest.mark.parametrize("path", [PATH, PATH.removesuffix(".json")])
def test_the_summary_of_one_day_against_hand_sums(auth_client, book, path):
    payload = get_json(auth_client, path, {"startdate": T, "enddate": T})
    assert_exact(
        payload,
        {
            "startDate": T,
            "endDate": T,
            "total": 1285.6,
            "sellers": [  # sorted by fullName
                seller_json(book["andres"], 1000.0, 159.66),
                seller_json(book["daniela"], 297.5, 47.5),
                seller_json(book["zoe"], -11.9, -1.9),
            ],
        },
    )


def test_amounts_are_json_numbers_in_the_body(auth_client, book):
    body = get(auth_client, PATH, {"startdate": T, "enddate": T}).content.decode()
    for text in ('"total":1285.6', '"subtotal":297.5', '"taxSubtotal":159.66', '"subtotal":-11.9'):
        assert text in body


def test_a_range_is_inclusive_of_both_ends(auth_client, book):
    start, end = T - DAY, T + DAY
    payload = get_json(auth_client, PATH, {"startdate": start, "enddate": end})
    # Daniela gains the 1190.00 sale of Aug 2; Andrés loses the 119.00 return of Aug 4.
    assert_exact(
        payload,
        {
            "startDate": start,
            "endDate": end,
            "total": 2356.6,
            "sellers": [
                seller_json(book["andres"], 881.0, 140.66, start, end),
                seller_json(book["daniela"], 1487.5, 237.5, start, end),
                seller_json(book["zoe"], -11.9, -1.9, start, end),
            ],
        },
    )


def test_timestamps_in_the_day_reduce_to_the_utc_date(auth_client, book):
    payload = get_json(auth_client, PATH, {"startdate": T + 3600, "enddate": T + 50000})
    assert (payload["startDate"], payload["endDate"], payload["total"]) == (T, T, 1285.6)


def test_one_userid(auth_client, book):
    payload = get_json(
        auth_client, PATH, {"startdate": T, "enddate": T, "userid": book["daniela"].pk}
    )
    assert_exact(
        payload,
        {
            "startDate": T,
            "endDate": T,
            "total": 297.5,
            "sellers": [seller_json(book["daniela"], 297.5, 47.5)],
        },
    )


@pytest.mark.parametrize("who", ["nobody", "reader"])
def test_a_known_userid_without_documents_is_an_empty_summary(auth_client, book, reader, who):
    user = reader if who == "reader" else book[who]
    payload = get_json(auth_client, PATH, {"startdate": T, "enddate": T, "userid": user.pk})
    assert_exact(payload, {"startDate": T, "endDate": T, "total": 0.0, "sellers": []})


def test_an_empty_range(auth_client, book):
    day = T + 300 * DAY
    payload = get_json(auth_client, PATH, {"startdate": day, "enddate": day})
    assert_exact(payload, {"startDate": day, "endDate": day, "total": 0.0, "sellers": []})
    assert (
        '"total":0.0' in get(auth_client, PATH, {"startdate": day, "enddate": day}).content.decode()
    )


def test_subtotal_switches_to_net_amount_by_setting(auth_client, book, settings):
    settings.SALES_SUMMARY_SUBTOTAL = "net"
    payload = get_json(auth_client, PATH, {"startdate": T, "enddate": T})
    # Net: Daniela 100 + 200 - 50, Andrés 840.34, Zoe -10; taxes unchanged.
    assert_exact(
        payload,
        {
            "startDate": T,
            "endDate": T,
            "total": 1080.34,
            "sellers": [
                seller_json(book["andres"], 840.34, 159.66),
                seller_json(book["daniela"], 250.0, 47.5),
                seller_json(book["zoe"], -10.0, -1.9),
            ],
        },
    )


def test_dates_default_to_today_in_the_configured_time_zone(auth_client, reader):
    today = timezone.localdate()  # America/Lima, which is not always the UTC date
    boleta = DocumentTypeFactory()
    doc(boleta, reader, today, net="100", tax="19")
    doc(boleta, reader, today - dt.timedelta(days=1), net="500", tax="95")
    expected = {
        "startDate": unix(today),
        "endDate": unix(today),
        "total": 119.0,
        "sellers": [seller_json(reader, 119.0, 19.0, unix(today), unix(today))],
    }
    assert_exact(get_json(auth_client, PATH), expected)
    # Only one end given: the other is still today.
    assert_exact(get_json(auth_client, PATH, {"startdate": unix(today)}), expected)
    assert_exact(get_json(auth_client, PATH, {"enddate": unix(today)}), expected)


def test_sellers_sort_by_full_name_not_by_id(auth_client):
    boleta = DocumentTypeFactory()
    names = [("Zoe", "Abad"), ("ana", "Zeta"), ("Ana", "Beltrán"), ("Bruno", "Alba")]
    users = [UserFactory(first_name=first, last_name=last) for first, last in names]
    for user in users:
        doc(boleta, user, net="1", tax="0")
    payload = get_json(auth_client, PATH, {"startdate": T, "enddate": T})
    assert [s["fullName"] for s in payload["sellers"]] == [
        "Ana Beltrán",
        "ana Zeta",
        "Bruno Alba",
        "Zoe Abad",
    ]


# --- Errors --------------------------------------------------------------------------------------


def test_an_unknown_userid_is_a_404(auth_client, book):
    for missing in (book["zoe"].pk + 1000, HUGE[:18]):
        response = get(auth_client, PATH, {"startdate": T, "enddate": T, "userid": missing})
        assert_error(response, 404)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"userid": "abc"}, "userid"),
        ({"userid": "1.5"}, "userid"),
        ({"userid": HUGE}, "userid"),
        ({"startdate": "abc"}, "startdate"),
        ({"startdate": "1.5"}, "startdate"),
        ({"startdate": HUGE}, "startdate"),
        ({"enddate": "tomorrow"}, "enddate"),
        ({"enddate": "253402300800"}, "enddate"),  # year 10000
        ({"startdate": str(T + DAY), "enddate": str(T)}, "startdate"),
        ({"startdate": "2", "enddate": "1"}, "startdate"),  # reversed within one day
        ({"startdate": str(2 * T)}, "startdate"),  # after today, enddate defaulting to today
    ],
)
def test_malformed_parameters_are_a_400(auth_client, params, param):
    assert_error(get(auth_client, PATH, params), 400, param)


# --- Queries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sellers", [2, 30])
def test_the_summary_makes_a_constant_number_of_queries(
    auth_client, django_assert_num_queries, sellers
):
    boleta, nota = DocumentTypeFactory(), CreditNoteTypeFactory()
    for user in UserFactory.create_batch(sellers):
        doc(boleta, user, net="100", tax="19")
        doc(nota, user, net="10", tax="1.90")
    # auth + 1 aggregate query grouped by seller (names joined in).
    with django_assert_num_queries(AUTH_QUERIES + 1):
        payload = get_json(auth_client, PATH, {"startdate": T, "enddate": T})
    assert len(payload["sellers"]) == sellers
    assert payload["total"] == pytest.approx(107.1 * sellers)


def test_queries_with_one_userid(auth_client, book, django_assert_num_queries):
    params = {"startdate": T, "enddate": T}
    # auth + the aggregate.
    with django_assert_num_queries(AUTH_QUERIES + 1):
        get_json(auth_client, PATH, {**params, "userid": book["daniela"].pk})
    # auth + the aggregate (empty) + whether the user exists.
    with django_assert_num_queries(AUTH_QUERIES + 2):
        get_json(auth_client, PATH, {**params, "userid": book["nobody"].pk})


@pytest.mark.parametrize("path", ["/v1/users/sales_summary.json", "/v1/users/1/sales.json"])
def test_documents_behind_a_user_need_the_document_view_permission_too(db, api_client, path):
    """Only users.view_user is not enough: a summary and a seller's sales show documents."""
    from tests.conftest import grant, token_for

    user = UserFactory()
    grant(user, "users.view_user")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    response = api_client.get(path)
    assert response.status_code == 403
    assert "error" in response.json()


# --- The database writes the sellers' JSON (PostgreSQL); the same bytes as Python's ---------


@pytest.mark.django_db
def test_the_databases_json_is_the_same_bytes_as_the_python_payload():
    """On PostgreSQL ``sales_summary_json`` writes each seller's object around the
    database's number text; it must be byte for byte what ``sales_summary_payload`` renders,
    names that need
    escaping, amounts with trailing zeros, zero and negative subtotals included. (On
    SQLite both sides are the Python payload.)"""
    from common.renderers import dumps
    from sales.resources import sales_summary_json, sales_summary_payload
    from sales.selectors import sales_summary

    boleta, nota = DocumentTypeFactory(name="Boleta"), CreditNoteTypeFactory()
    names = [
        ('Ana "La Jefa"', "O'Brien"),
        ("Back\\slash", "Tab\tbed"),
        ("Control\x01\x1f", "Del\x7f Line\u2028Sep"),
        ("", "Solo Apellido"),
        ("Solo Nombre", ""),
        ("Ñandú", "Çelik ẞtraße"),
        ("zoë", "Émile 東京 🚀"),
        ("  Spaced  ", " Out "),
        ("same", "name"),
        ("Same", "Name"),
    ]
    amounts = [("100", "19"), ("0.50", "0.10"), ("255000", "0"), ("10", "1.90")]
    for index, (first, last) in enumerate(names):
        seller = UserFactory(first_name=first, last_name=last)
        net, tax = amounts[index % len(amounts)]
        doc(boleta, seller, net=net, tax=tax)
        if index % 3 == 0:
            doc(nota, seller, net=net, tax=tax)  # a subtotal of 0.00
        if index % 4 == 1:
            doc(nota, seller, net="999.99", tax="0.01")  # negative
    base = "https://api.example.com"

    payload, sellers = sales_summary_json(start=AUG_3, end=AUG_3, base_url=base)
    expected = sales_summary_payload(sales_summary(start=AUG_3, end=AUG_3), base)

    assert sellers == len(names)
    assert dumps(payload) == dumps(expected)
    empty, none = sales_summary_json(start=AUG_3 + dt.timedelta(days=1), end=AUG_3, base_url=base)
    assert (none, dumps(empty)) == (
        0,
        dumps(
            sales_summary_payload(
                sales_summary(start=AUG_3 + dt.timedelta(days=1), end=AUG_3), base
            )
        ),
    )
