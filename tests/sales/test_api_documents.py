"""/v1/documents.json, /v1/documents/{id}.json, /v1/documents/count.json."""

import datetime as dt
from decimal import Decimal

import pytest

from tests.api_helpers import (
    AUTH_QUERIES,
    assert_error,
    assert_exact,
    document_json,
    get,
    get_json,
    item_ids,
    unix,
)
from tests.factories import (
    CreditNoteTypeFactory,
    DocumentFactory,
    DocumentTypeFactory,
    OfficeFactory,
    UserFactory,
)

HUGE = "99999999999999999999999"
AUG_3 = 1438560000  # 2015-08-03 00:00 UTC, the seed's date
DAY = 86400


def test_a_document_has_exactly_the_specified_shape(auth_client):
    boleta = DocumentTypeFactory(name="Boleta")
    office = OfficeFactory()
    seller = UserFactory(office=office)
    document = DocumentFactory(
        document_type=boleta,
        number=4535370,
        emission_date=dt.date(2015, 8, 3),
        expiration_date=dt.date(2015, 9, 2),
        generation_date=dt.datetime(2015, 8, 3, 14, 30, tzinfo=dt.UTC),
        office=office,
        user=seller,
        net_amount=Decimal("100.00"),
        tax_amount=Decimal("19.00"),
        exempt_amount=Decimal("0.00"),
        total_amount=Decimal("119.00"),
    )
    host = "http://api.example.com"
    expected = {
        "href": f"{host}/v1/documents/{document.pk}.json",
        "id": document.pk,
        "emissionDate": AUG_3,
        "expirationDate": AUG_3 + 30 * DAY,
        "generationDate": AUG_3 + 14 * 3600 + 30 * 60,
        "number": 4535370,
        "totalAmount": 119.0,
        "netAmount": 100.0,
        "taxAmount": 19.0,
        "exemptAmount": 0.0,
        "state": 0,
        "document_type": {
            "href": f"{host}/v1/document_types/{boleta.pk}.json",
            "id": str(boleta.pk),
        },
        "office": {"href": f"{host}/v1/offices/{office.pk}.json", "id": str(office.pk)},
        "user": {"href": f"{host}/v1/users/{seller.pk}.json", "id": str(seller.pk)},
    }
    response = get(auth_client, f"/v1/documents/{document.pk}.json")
    assert_exact(response.json(), expected)
    # Amounts are JSON numbers in the body itself, never strings.
    for text in (
        '"totalAmount":119.0',
        '"netAmount":100.0',
        '"taxAmount":19.0',
        '"exemptAmount":0.0',
    ):
        assert text in response.content.decode()
    assert_exact(get_json(auth_client, "/v1/documents.json")["items"], [expected])


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0.10", "0.1"),
        ("1234567.89", "1234567.89"),
        ("150000.50", "150000.5"),
        ("999999999999.99", "999999999999.99"),  # the largest amount: 14 digits, exact
    ],
)
def test_amounts_are_exact_json_numbers(auth_client, amount, text):
    document = DocumentFactory(total_amount=Decimal(amount))
    body = get(auth_client, f"/v1/documents/{document.pk}.json").content.decode()
    assert f'"totalAmount":{text},' in body


def test_empty_relations_and_expiration_are_null(auth_client):
    document = DocumentFactory(office=None, user=None, expiration_date=None)
    for expand in ("", "[office,user]", "[user.office]"):
        detail = get_json(auth_client, f"/v1/documents/{document.pk}.json", {"expand": expand})
        assert (detail["office"], detail["user"], detail["expirationDate"]) == (None, None, None)


def test_unknown_document_is_a_404(auth_client):
    for missing in ("424242", HUGE):
        body = assert_error(get(auth_client, f"/v1/documents/{missing}.json"), 404)
        assert "document" in body["error"]


# --- expand ----------------------------------------------------------------------------------


@pytest.fixture
def documents(db):
    """One document with everything set, one whose seller has no office, one with nothing."""
    return [
        DocumentFactory(),
        DocumentFactory(user=UserFactory(office=None)),
        DocumentFactory(office=None, user=None, document_type=CreditNoteTypeFactory()),
    ]


@pytest.mark.parametrize(
    ("expand", "paths"),
    [
        ("", ()),
        ("[document_type]", ("document_type",)),
        ("document_type,office,user", ("document_type", "office", "user")),
        ("[DOCUMENT_TYPE,Office,USER]", ("document_type", "office", "user")),
        ("[user.office]", ("user.office",)),
        ("[user,user.office]", ("user.office",)),
        ("[document_type,office,user.office]", ("document_type", "office", "user.office")),
    ],
)
def test_expand_on_list_and_detail(auth_client, documents, expand, paths):
    expected = [document_json(d, expand=paths) for d in documents]
    params = {"expand": expand} if expand else {}
    assert_exact(get_json(auth_client, "/v1/documents.json", params)["items"], expected)
    for document, item in zip(documents, expected, strict=True):
        assert_exact(get_json(auth_client, f"/v1/documents/{document.pk}.json", params), item)


def test_expanded_ids_are_integers_and_references_strings(auth_client, documents):
    document = documents[0]
    detail = get_json(auth_client, f"/v1/documents/{document.pk}.json", {"expand": "[user]"})
    assert detail["user"]["id"] == document.user_id
    assert detail["user"]["office"] == {
        "href": f"http://api.example.com/v1/offices/{document.user.office_id}.json",
        "id": str(document.user.office_id),
    }
    assert detail["office"]["id"] == str(document.office_id)


def test_fields_and_nested_expand_together(auth_client, documents):
    document = documents[0]
    params = {"fields": "[number,totalamount,user]", "expand": "[user.office]"}
    detail = get_json(auth_client, f"/v1/documents/{document.pk}.json", params)
    full = document_json(document, expand=("user.office",))
    expected = {key: full[key] for key in ("href", "id", "number", "totalAmount", "user")}
    assert_exact(detail, expected)


# --- Filters -----------------------------------------------------------------------------------


@pytest.fixture
def ledger(db):
    """Named documents over four days (2015-08-02 .. 2015-08-05)."""
    boleta, nota = DocumentTypeFactory(), CreditNoteTypeFactory()
    lima, cusco = OfficeFactory(), OfficeFactory()
    ana, luis = UserFactory(office=lima), UserFactory(office=None)
    made = {
        "d1": DocumentFactory(
            document_type=boleta,
            number=100,
            emission_date=dt.date(2015, 8, 3),
            office=lima,
            user=ana,
        ),
        "d2": DocumentFactory(
            document_type=boleta,
            number=101,
            emission_date=dt.date(2015, 8, 4),
            office=cusco,
            user=luis,
            state=1,
        ),
        "d3": DocumentFactory(
            document_type=nota, number=50, emission_date=dt.date(2015, 8, 2), office=None, user=None
        ),
        "d4": DocumentFactory(
            document_type=boleta,
            number=102,
            emission_date=dt.date(2015, 8, 5),
            office=lima,
            user=luis,
        ),
    }
    ids = {
        "boleta": boleta.pk,
        "nota": nota.pk,
        "lima": lima.pk,
        "cusco": cusco.pk,
        "ana": ana.pk,
        "luis": luis.pk,
    }
    return made, ids


FILTER_CASES = [
    ({"number": "100"}, ["d1"]),
    ({"number": "50"}, ["d3"]),
    ({"number": "7"}, []),
    ({"documenttypeid": "{boleta}"}, ["d1", "d2", "d4"]),
    ({"documenttypeid": "{nota}"}, ["d3"]),
    ({"officeid": "{lima}"}, ["d1", "d4"]),
    ({"officeid": "{cusco}"}, ["d2"]),
    ({"userid": "{luis}"}, ["d2", "d4"]),
    ({"userid": "{ana}"}, ["d1"]),
    ({"state": "0"}, ["d1", "d3", "d4"]),
    ({"state": "1"}, ["d2"]),
    ({"emissiondate": str(AUG_3)}, ["d1"]),
    ({"emissiondate": str(AUG_3 + 50000)}, ["d1"]),  # mid-day: reduced to its date
    ({"emissiondate": str(AUG_3 + 3600)}, ["d1"]),  # 01:00 UTC, still Aug 2 in Lima: UTC wins
    ({"emissiondate": str(AUG_3 - 1)}, ["d3"]),  # 23:59:59 UTC on Aug 2
    ({"emissiondate": str(AUG_3 + DAY - 1)}, ["d1"]),
    ({"emissiondaterange": f"[{AUG_3},{AUG_3 + DAY}]"}, ["d1", "d2"]),  # inclusive
    ({"emissiondaterange": f"{AUG_3},{AUG_3 + DAY}"}, ["d1", "d2"]),  # brackets optional
    ({"emissiondaterange": f"[{AUG_3 + 50000},{AUG_3 + DAY + 50000}]"}, ["d1", "d2"]),
    ({"emissiondaterange": f"[{AUG_3 - DAY},{AUG_3 + 2 * DAY}]"}, ["d1", "d2", "d3", "d4"]),
    ({"emissiondaterange": f"[{AUG_3},{AUG_3}]"}, ["d1"]),
    ({"emissiondaterange": f"[{AUG_3 + 10},{AUG_3 + 20}]"}, ["d1"]),
    ({"emissiondaterange": f"[{AUG_3 + 9 * DAY},{AUG_3 + 10 * DAY}]"}, []),
    (
        {"emissiondaterange": f"[{AUG_3},{AUG_3 + 2 * DAY}]", "state": "0", "officeid": "{lima}"},
        ["d1", "d4"],
    ),
    ({"userid": "{luis}", "documenttypeid": "{boleta}", "state": "0"}, ["d4"]),
    ({"clientid": "3", "number": "101"}, ["d2"]),  # unknown parameter ignored
]


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES)
def test_filters_on_list_and_count(auth_client, ledger, params, expected):
    made, ids = ledger
    params = {key: value.format(**ids) for key, value in params.items()}
    expected_ids = [made[name].pk for name in expected]
    payload = get_json(auth_client, "/v1/documents.json", params)
    assert item_ids(payload) == expected_ids
    assert payload["count"] == len(expected)
    assert_exact(
        get_json(auth_client, "/v1/documents/count.json", params), {"count": len(expected)}
    )


MALFORMED = [
    ("number", "abc"),
    ("number", "1.5"),
    ("number", HUGE),
    ("documenttypeid", "abc"),
    ("documenttypeid", "1.5"),
    ("officeid", "abc"),
    ("officeid", "1.5"),
    ("officeid", HUGE),
    ("userid", "abc"),
    ("userid", HUGE),
    ("state", "7"),
    ("state", "x"),
    ("emissiondate", "abc"),
    ("emissiondate", "1.5"),
    ("emissiondate", "[1,2]"),
    ("emissiondate", HUGE),
    ("emissiondate", "253402300800"),  # year 10000
    ("emissiondaterange", "[1]"),
    ("emissiondaterange", "[1,2,3]"),
    ("emissiondaterange", "[a,b]"),
    ("emissiondaterange", "[]"),
    ("emissiondaterange", "[2,1]"),  # reversed, although both fall on 1970-01-01
    ("emissiondaterange", f"[{AUG_3 + DAY},{AUG_3}]"),  # reversed by a whole day
    ("emissiondaterange", f"[1,{HUGE}]"),
    ("emissiondaterange", "[1,253402300800]"),
]


@pytest.mark.parametrize(("param", "value"), MALFORMED)
@pytest.mark.parametrize("path", ["/v1/documents.json", "/v1/documents/count.json"])
def test_malformed_filters_are_a_400_naming_the_parameter(auth_client, path, param, value):
    assert_error(get(auth_client, path, {param: value}), 400, param)


def test_emissiondate_of_the_seed_day_matches_unix_of_the_date(auth_client):
    document = DocumentFactory(emission_date=dt.date(2015, 8, 3))
    assert unix(document.emission_date) == AUG_3
    payload = get_json(auth_client, "/v1/documents.json", {"emissiondate": AUG_3})
    assert [item["emissionDate"] for item in payload["items"]] == [AUG_3]


# --- Queries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 50])
def test_queries_do_not_grow_with_page_size_or_expand(
    auth_client, django_assert_num_queries, limit
):
    DocumentFactory.create_batch(60, document_type=DocumentTypeFactory())
    params = {"expand": "[document_type,office,user.office]", "limit": limit}
    # auth + 1 count + 1 page joining document type, office, user and the user's office.
    with django_assert_num_queries(AUTH_QUERIES + 2):
        payload = get_json(auth_client, "/v1/documents.json", params)
    assert len(payload["items"]) == limit
    assert all(item["user"]["office"]["id"] for item in payload["items"])


def test_detail_and_count_queries(auth_client, documents, django_assert_num_queries):
    # auth + the row, every relation joined in.
    with django_assert_num_queries(AUTH_QUERIES + 1):
        get_json(
            auth_client,
            f"/v1/documents/{documents[0].pk}.json",
            {"expand": "[document_type,office,user.office]"},
        )
    # auth + 1 count.
    with django_assert_num_queries(AUTH_QUERIES + 1):
        get_json(
            auth_client, "/v1/documents/count.json", {"emissiondaterange": f"[{AUG_3},{AUG_3}]"}
        )
