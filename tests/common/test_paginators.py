"""The admin's document list counts an unfiltered large table from PostgreSQL's estimate."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common import paginators
from sales.models import Document, SalesHistoryEntry
from tests.admin_helpers import admin_url
from tests.factories import DocumentFactory, SalesHistoryEntryFactory

pytestmark = pytest.mark.django_db


def _changelist_sql(client, **params) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(admin_url(Document, "changelist"), params)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def _counts(sqls: list[str]) -> list[str]:
    return [sql for sql in sqls if "COUNT(" in sql.upper() and '"sales_document"' in sql]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="estimates are PostgreSQL's")
def test_unfiltered_list_uses_the_estimate_and_a_filtered_one_counts(staff_client, monkeypatch):
    for _ in range(3):
        DocumentFactory()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sales_document")
    monkeypatch.setattr(paginators, "ESTIMATE_FROM_ROWS", 1)
    sqls = _changelist_sql(staff_client)
    # No COUNT(*) of the whole table: the page count comes from pg_class.
    assert _counts(sqls) == []
    assert any("reltuples" in sql for sql in sqls)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="estimates are PostgreSQL's")
def test_a_filtered_list_counts_exactly_unless_its_plan_expects_many_rows(
    staff_client, monkeypatch
):
    for _ in range(3):
        DocumentFactory()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sales_document")
    # A few rows expected: the exact count.
    sqls = _changelist_sql(staff_client, state__exact=0)
    assert len(_counts(sqls)) == 1
    # Many (here: 1 or more): the plan's estimate, no COUNT(*) of the matching rows.
    monkeypatch.setattr(paginators, "ESTIMATE_FROM_ROWS", 1)
    sqls = _changelist_sql(staff_client, state__exact=0)
    assert _counts(sqls) == []
    assert any(sql.startswith("EXPLAIN (FORMAT JSON)") for sql in sqls)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="estimates are PostgreSQL's")
def test_the_planned_estimate_follows_the_filter():
    DocumentFactory.create_batch(40, state=0)
    DocumentFactory.create_batch(2, state=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sales_document")
    void = paginators.planned_row_estimate(Document.objects.filter(state=1))
    active = paginators.planned_row_estimate(Document.objects.filter(state=0))
    assert void < active
    assert 20 <= active <= 60


def test_a_small_table_is_counted_exactly(staff_client):
    for _ in range(3):
        DocumentFactory()
    html = staff_client.get(admin_url(Document, "changelist")).content.decode()
    assert "3 documentos" in html  # the admin speaks Spanish by default
    assert len(_counts(_changelist_sql(staff_client))) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="estimates are PostgreSQL's")
def test_the_unfiltered_history_list_uses_the_estimate(staff_client, monkeypatch):
    SalesHistoryEntryFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sales_saleshistoryentry")
    monkeypatch.setattr(paginators, "ESTIMATE_FROM_ROWS", 1)
    with CaptureQueriesContext(connection) as ctx:
        response = staff_client.get(admin_url(SalesHistoryEntry, "changelist"))
    assert response.status_code == 200
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert not [sql for sql in sqls if "COUNT(" in sql.upper()]
    assert any("reltuples" in sql for sql in sqls)
