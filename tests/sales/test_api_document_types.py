"""/v1/document_types.json, /v1/document_types/{id}.json, /v1/document_types/count.json."""

import pytest

from sales.models import DocumentUse
from tests.api_helpers import (
    AUTH_QUERIES,
    assert_error,
    assert_exact,
    document_type_json,
    get,
    get_json,
    item_ids,
)
from tests.factories import CreditNoteTypeFactory, DocumentTypeFactory

HUGE = "99999999999999999999999"


def test_a_document_type_has_exactly_the_specified_shape(auth_client):
    boleta = DocumentTypeFactory(name="Boleta", code="39", is_electronic=True)
    note = CreditNoteTypeFactory(name="Nota de crédito", code="61", is_electronic=False, state=1)
    expected = [
        {
            "href": f"http://api.example.com/v1/document_types/{boleta.pk}.json",
            "id": boleta.pk,
            "name": "Boleta",
            "codeSii": "39",
            "use": 0,
            "isCreditNote": 0,
            "isElectronicDocument": 1,
            "state": 0,
        },
        {
            "href": f"http://api.example.com/v1/document_types/{note.pk}.json",
            "id": note.pk,
            "name": "Nota de crédito",
            "codeSii": "61",
            "use": 1,
            "isCreditNote": 1,
            "isElectronicDocument": 0,
            "state": 1,
        },
    ]
    assert_exact(get_json(auth_client, "/v1/document_types.json")["items"], expected)
    for item in expected:
        assert_exact(get_json(auth_client, f"/v1/document_types/{item['id']}.json"), item)
        assert_exact(get_json(auth_client, f"/v1/document_types/{item['id']}"), item)


@pytest.mark.parametrize("use", list(DocumentUse))
def test_only_use_1_is_a_credit_note(auth_client, use):
    document_type = DocumentTypeFactory(use=use)
    detail = get_json(auth_client, f"/v1/document_types/{document_type.pk}.json")
    assert_exact(detail, document_type_json(document_type))
    assert detail["isCreditNote"] == (1 if use == DocumentUse.RETURN else 0)


def test_fields_case_insensitive(auth_client):
    document_type = DocumentTypeFactory()
    detail = get_json(
        auth_client,
        f"/v1/document_types/{document_type.pk}.json",
        {"fields": "[CODESII,iscreditnote]"},
    )
    assert list(detail) == ["href", "id", "codeSii", "isCreditNote"]


def test_unknown_document_type_is_a_404(auth_client):
    for missing in ("424242", HUGE):
        assert_error(get(auth_client, f"/v1/document_types/{missing}.json"), 404)


# --- Filters -------------------------------------------------------------------------------------


@pytest.fixture
def types(db):
    return {
        "boleta": DocumentTypeFactory(name="Boleta", use=DocumentUse.SALE),
        "factura": DocumentTypeFactory(name="Factura", code="33", use=DocumentUse.SALE, state=1),
        "nota": CreditNoteTypeFactory(),
        "guia": DocumentTypeFactory(name="Guía de despacho", code="52", use=DocumentUse.DISPATCH),
        "liquidacion": DocumentTypeFactory(name="Liquidación", use=DocumentUse.SETTLEMENT),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "boleta"}, ["boleta"]),
        ({"name": "FACTURA"}, ["factura"]),
        ({"name": "nota de crédito"}, ["nota"]),
        ({"name": "Bol"}, []),
        ({"use": "0"}, ["boleta", "factura"]),
        ({"use": "1"}, ["nota"]),
        ({"use": "2"}, ["guia"]),
        ({"use": "3"}, ["liquidacion"]),
        ({"state": "0"}, ["boleta", "nota", "guia", "liquidacion"]),
        ({"state": "1"}, ["factura"]),
        ({"use": "0", "state": "0"}, ["boleta"]),
        ({"clientid": "3", "use": "1"}, ["nota"]),
    ],
)
def test_filters_on_list_and_count(auth_client, types, params, expected):
    expected_ids = [types[name].pk for name in expected]
    assert item_ids(get_json(auth_client, "/v1/document_types.json", params)) == expected_ids
    assert_exact(
        get_json(auth_client, "/v1/document_types/count.json", params), {"count": len(expected)}
    )


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("use", "9"),
        ("use", "4"),
        ("use", "-1"),
        ("use", "sale"),
        ("use", HUGE),
        ("state", "7"),
        ("state", "x"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/document_types.json", "/v1/document_types/count.json"])
def test_malformed_filters_are_a_400(auth_client, path, param, value):
    assert_error(get(auth_client, path, {param: value}), 400, param)


# --- Queries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 50])
def test_list_queries_do_not_grow_with_the_page(auth_client, django_assert_num_queries, limit):
    DocumentTypeFactory.create_batch(60)
    # auth + 1 count + 1 page.
    with django_assert_num_queries(AUTH_QUERIES + 2):
        payload = get_json(auth_client, "/v1/document_types.json", {"limit": limit})
    assert len(payload["items"]) == limit


def test_detail_and_count_queries(auth_client, django_assert_num_queries):
    document_type = DocumentTypeFactory()
    # auth + the row.
    with django_assert_num_queries(AUTH_QUERIES + 1):
        get_json(auth_client, f"/v1/document_types/{document_type.pk}.json")
    # auth + 1 count.
    with django_assert_num_queries(AUTH_QUERIES + 1):
        get_json(auth_client, "/v1/document_types/count.json", {"use": 1})
