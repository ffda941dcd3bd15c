"""The sales admin: document types, documents, sales history."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sales.admin import username_user_ids
from sales.models import Document, DocumentType, SalesHistoryEntry
from tests.admin_helpers import admin_url, count_queries, form_data
from tests.factories import (
    CreditNoteTypeFactory,
    DocumentFactory,
    DocumentTypeFactory,
    OfficeFactory,
    SalesHistoryEntryFactory,
    UserFactory,
)
from users.models import AuditEntry

pytestmark = pytest.mark.django_db


# --- Every page renders -------------------------------------------------------------------


@pytest.mark.parametrize("model", [DocumentType, Document, SalesHistoryEntry])
def test_changelist_add_change_delete_render(staff_client, model):
    obj = {
        DocumentType: DocumentTypeFactory,
        Document: DocumentFactory,
        SalesHistoryEntry: SalesHistoryEntryFactory,
    }[model]()
    for url in (
        admin_url(model, "changelist"),
        admin_url(model, "add"),
        admin_url(model, "change", obj.pk),
        admin_url(model, "delete", obj.pk),
    ):
        assert staff_client.get(url).status_code == 200, url


def test_document_changelist_filters_and_date_hierarchy(staff_client):
    office = OfficeFactory()
    void = DocumentFactory(state=1, office=office, emission_date=dt.date(2024, 5, 2))
    DocumentFactory(emission_date=dt.date(2024, 6, 3))
    url = admin_url(Document, "changelist")
    for params, expected in (
        ({"state__exact": "1"}, [void.pk]),
        ({"office__id__exact": str(office.pk)}, [void.pk]),
        ({"document_type__id__exact": str(void.document_type_id)}, [void.pk]),
        ({"emission_date__year": "2024", "emission_date__month": "5"}, [void.pk]),
    ):
        response = staff_client.get(url, params)
        assert response.status_code == 200, params
        assert [d.pk for d in response.context["cl"].result_list] == expected, params


# --- Search -------------------------------------------------------------------------------


def test_document_type_search(staff_client):
    wanted = DocumentTypeFactory(name="Factura", code="33")
    DocumentTypeFactory(name="Boleta", code="39")
    for term in ("Factura", "33"):
        response = staff_client.get(admin_url(DocumentType, "changelist"), {"q": term})
        assert [t.pk for t in response.context["cl"].result_list] == [wanted.pk], term


def test_document_search_by_number_and_seller(staff_client):
    seller = UserFactory(username="daniela.valdes")
    wanted = DocumentFactory(number=987654, user=seller)
    DocumentFactory(number=123)
    url = admin_url(Document, "changelist")
    for term in ("987654", "daniela.valdes", "DANIELA.VALDES"):
        response = staff_client.get(url, {"q": term})
        assert response.status_code == 200
        assert [d.pk for d in response.context["cl"].result_list] == [wanted.pk], term
    # A word that is no number must not be a 500 (number is an integer column).
    assert staff_client.get(url, {"q": "abc"}).status_code == 200


def test_document_search_by_number_probes_the_folio_index_per_type(staff_client):
    """The folio's unique index is (document_type, number): the search names every type,
    so PostgreSQL probes that index instead of scanning every document's number."""
    boleta, factura = DocumentTypeFactory(), DocumentTypeFactory()
    wanted = [DocumentFactory(number=555, document_type=t) for t in (boleta, factura)]
    DocumentFactory(number=556, document_type=boleta)
    url = admin_url(Document, "changelist")
    with CaptureQueriesContext(connection) as ctx:
        response = staff_client.get(url, {"q": "555"})
    assert {d.pk for d in response.context["cl"].result_list} == {d.pk for d in wanted}
    page_sql = [q["sql"] for q in ctx.captured_queries if '"sales_document"."number" =' in q["sql"]]
    assert page_sql
    assert all('"sales_document"."document_type_id" IN (SELECT' in sql for sql in page_sql)


def _plan_without_seq_scans(sql: str) -> str:
    """PostgreSQL's plan for ``sql`` when it may not scan a table whole: with a few test rows
    a scan is cheapest, so this shows whether an index can serve the query at all."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_the_username_lookup_of_a_search_uses_its_index():
    """UPPER(username) = UPPER(term) ends on user_username_upper_idx, not a scan of every
    user (90 ms at 100,000 users on the bench)."""
    seller = UserFactory(username="Daniela.Valdes")
    UserFactory.create_batch(5)
    with CaptureQueriesContext(connection) as ctx:
        assert username_user_ids("daniela.VALDES") == [seller.pk]
    (lookup,) = ctx.captured_queries
    # Ordered by id, PostgreSQL would walk the primary key instead (LIMIT, no statistics).
    assert "ORDER BY" not in lookup["sql"]
    assert "user_username_upper_idx" in _plan_without_seq_scans(lookup["sql"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_the_void_filter_counts_and_pages_from_its_index(staff_client):
    """state=1 (2% of the documents) reads document_void_idx, not every document."""
    void = DocumentFactory(state=1)
    DocumentFactory.create_batch(3, state=0)
    url = admin_url(Document, "changelist")
    with CaptureQueriesContext(connection) as ctx:
        response = staff_client.get(url, {"state__exact": "1"})
    assert [d.pk for d in response.context["cl"].result_list] == [void.pk]
    count_sql = next(q["sql"] for q in ctx.captured_queries if "COUNT(*)" in q["sql"])
    assert "document_void_idx" in _plan_without_seq_scans(count_sql)


def test_history_search(staff_client):
    wanted = SalesHistoryEntryFactory(emc="Colombina", nit="890300546-6")
    SalesHistoryEntryFactory(emc="Alpina")
    url = admin_url(SalesHistoryEntry, "changelist")
    for term in ("colombina", "890300546-6", wanted.user.username.upper()):
        response = staff_client.get(url, {"q": term})
        assert [e.pk for e in response.context["cl"].result_list] == [wanted.pk], term


def test_document_autocomplete_by_number(staff_client):
    wanted = DocumentFactory(number=4242)
    DocumentFactory(number=1)
    response = staff_client.get(
        "/admin/autocomplete/",
        {
            "term": "4242",
            "app_label": "sales",
            "model_name": "document",
            "field_name": "reference_document",
        },
    )
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(wanted.pk)]


# --- No per-row queries -------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, make",
    [
        # Each factory row brings its own office, seller and document type: if a column
        # or a filter queried per row, 30 rows would cost more queries than 3.
        (Document, lambda n: DocumentFactory.create_batch(n)),
        (DocumentType, lambda n: DocumentTypeFactory.create_batch(n)),
        (SalesHistoryEntry, lambda n: SalesHistoryEntryFactory.create_batch(n)),
    ],
)
def test_changelist_query_count_does_not_grow_with_rows(staff_client, model, make):
    make(3)
    url = admin_url(model, "changelist")
    staff_client.get(url)
    few = count_queries(staff_client, url)
    make(27)
    # Session + user, count, one page joined to its relations (select_related), and
    # one query per filter/date-hierarchy: the same for 3 rows and for 30.
    assert count_queries(staff_client, url) == few


def test_document_change_page_has_no_unbounded_select(staff_client):
    for i in range(5):
        UserFactory(username=f"vendedor-no-listado-{i}")
    document = DocumentFactory()
    html = staff_client.get(admin_url(Document, "change", document.pk)).content.decode()
    assert "vendedor-no-listado" not in html  # users are an autocomplete, not a <select>
    assert html.count("admin-autocomplete") >= 4


def test_document_change_through_the_form(staff_client):
    document = DocumentFactory(total_amount=Decimal("119.00"))
    url = admin_url(Document, "change", document.pk)
    data = form_data(staff_client.get(url), "document_form")
    data.update(state="1", _save="Save")
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    document.refresh_from_db()
    assert document.state == 1
    assert document.total_amount == Decimal("119.00")


# --- PROTECT ------------------------------------------------------------------------------


def test_delete_view_refuses_a_referenced_document_type(staff_client):
    document = DocumentFactory()
    url = admin_url(DocumentType, "delete", document.document_type_id)
    response = staff_client.get(url)
    assert response.status_code == 200
    assert response.context["protected"]
    response = staff_client.post(url, {"post": "yes"})
    assert response.status_code == 200
    assert response.context["protected"]
    assert DocumentType.objects.filter(pk=document.document_type_id).exists()


def test_bulk_delete_refuses_a_referenced_document_type(staff_client):
    document = DocumentFactory()
    response = staff_client.post(
        admin_url(DocumentType, "changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [document.document_type_id],
            "post": "yes",
        },
    )
    assert response.status_code == 200
    assert response.context["protected"]
    assert DocumentType.objects.filter(pk=document.document_type_id).exists()


def test_sale_returned_by_a_credit_note_cannot_be_deleted(staff_client):
    sale = DocumentFactory()
    DocumentFactory(document_type=CreditNoteTypeFactory(), reference_document=sale, user=sale.user)
    response = staff_client.post(admin_url(Document, "delete", sale.pk), {"post": "yes"})
    assert response.status_code == 200
    assert response.context["protected"]
    response = staff_client.post(
        admin_url(Document, "changelist"),
        {"action": "delete_selected", "_selected_action": [sale.pk], "post": "yes"},
    )
    assert response.status_code == 200
    assert Document.objects.filter(pk=sale.pk).exists()


def test_many_protecting_documents_are_summarised_not_loaded(staff_client):
    # Document.document_type has related_name="+": a hidden relation, still PROTECT.
    doc_type = DocumentTypeFactory()
    DocumentFactory.create_batch(13, document_type=doc_type)
    response = staff_client.get(admin_url(DocumentType, "delete", doc_type.pk))
    protected = response.context["protected"]
    assert len(protected) == 11  # ten links and "… and 3 more"
    assert "3" in str(protected[-1])
    response = staff_client.post(
        admin_url(DocumentType, "changelist"),
        {"action": "delete_selected", "_selected_action": [doc_type.pk], "post": "yes"},
    )
    assert len(response.context["protected"]) == 11


def test_unreferenced_document_type_is_deleted(staff_client):
    doc_type = DocumentTypeFactory()
    response = staff_client.post(admin_url(DocumentType, "delete", doc_type.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not DocumentType.objects.filter(pk=doc_type.pk).exists()


# --- The sales history admin is audited too -----------------------------------------------


def test_history_admin_change_and_delete_are_audited(staff_client, admin_user):
    entry = SalesHistoryEntryFactory(amount=Decimal("10.00"), emc="Nutresa")
    url = admin_url(SalesHistoryEntry, "change", entry.pk)
    data = form_data(staff_client.get(url), "saleshistoryentry_form")
    data.update(amount="12.50", _save="Save")
    assert staff_client.post(url, data).status_code == 302
    audit = AuditEntry.objects.get()
    assert (audit.user_id, audit.field, audit.source, audit.actor) == (
        entry.user_id,
        AuditEntry.Field.HISTORY,
        AuditEntry.Source.ADMIN,
        admin_user,
    )
    assert [e["monto"] for e in audit.before] == ["10.00"]
    assert [e["monto"] for e in audit.after] == ["12.50"]

    response = staff_client.post(
        admin_url(SalesHistoryEntry, "changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert response.status_code == 302
    deletion = AuditEntry.objects.exclude(pk=audit.pk).get()
    assert [e["monto"] for e in deletion.before] == ["12.50"]
    assert deletion.after == []


def test_history_admin_unchanged_save_is_not_audited(staff_client):
    entry = SalesHistoryEntryFactory()
    url = admin_url(SalesHistoryEntry, "change", entry.pk)
    data = form_data(staff_client.get(url), "saleshistoryentry_form")
    data["_save"] = "Save"
    assert staff_client.post(url, data).status_code == 302
    assert not AuditEntry.objects.exists()
