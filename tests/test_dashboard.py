"""The admin index's sales dashboard: today, this month, the month's top 5, in two queries."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sales.admin_views import DASHBOARD_TOP, month_bounds
from sales.selectors import sales_summary
from tests.conftest import grant
from tests.factories import (
    CreditNoteTypeFactory,
    DocumentFactory,
    DocumentTypeFactory,
    OfficeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

INDEX = "/admin/"


@pytest.fixture
def staff(db):
    user = UserFactory(username="ana", is_staff=True, office=None)
    grant(user, "sales.view_document")
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def _other_day_this_month(today: dt.date) -> dt.date:
    first, last = month_bounds(today)
    return first if today != first else last


def _sell(seller, day, total, *, doc_type=None, office=None):
    return DocumentFactory(
        document_type=doc_type or DocumentTypeFactory(),
        user=seller,
        office=office,
        emission_date=day,
        total_amount=Decimal(total),
        tax_amount=(Decimal(total) * Decimal("0.19")).quantize(Decimal("0.01")),
    )


def card(html: str, card_id: str) -> Decimal:
    match = re.search(rf'id="{card_id}".*?data-value="([^"]+)"', html, re.S)
    assert match, card_id
    return Decimal(match.group(1))


def top_rows(html: str) -> list[tuple[int, Decimal]]:
    table = html.split('id="sales-top"', 1)[1].split("</table>", 1)[0]
    return [
        (int(seller_id), Decimal(value))
        for seller_id, value in re.findall(
            r'data-seller-id="(\d+)">.*?data-value="([^"]+)"', table, re.S
        )
    ]


def test_today_month_and_top_five(staff_client):
    today = timezone.localdate()
    other_day = _other_day_this_month(today)
    doc_type, credit = DocumentTypeFactory(), CreditNoteTypeFactory()
    office = OfficeFactory()
    sellers = [UserFactory(office=office) for _ in range(7)]
    for rank, seller in enumerate(sellers):
        _sell(seller, other_day, 1000 * (rank + 1), doc_type=doc_type, office=office)
    _sell(sellers[0], today, "250.00", doc_type=doc_type, office=office)
    _sell(sellers[1], today, "50.00", doc_type=credit, office=office)  # a return today
    _sell(sellers[6], today - dt.timedelta(days=40), "99999.00", doc_type=doc_type)  # not now

    html = staff_client.get(INDEX).content.decode()

    assert card(html, "sales-today") == Decimal("200.00")
    month_total = sum(1000 * (n + 1) for n in range(7)) + 250 - 50
    assert card(html, "sales-month") == Decimal(month_total)
    # The same numbers as the selector (and so as the API) for those dates.
    first, last = month_bounds(today)
    assert card(html, "sales-month") == sales_summary(start=first, end=last).total
    assert card(html, "sales-today") == sales_summary(start=today, end=today).total

    top = top_rows(html)
    assert len(top) == DASHBOARD_TOP == 5
    assert [seller_id for seller_id, _ in top] == [s.pk for s in reversed(sellers[2:])]
    assert [value for _, value in top] == sorted((v for _, v in top), reverse=True)
    assert f'href="/admin/sales/document/summary/?start={first}&amp;end={last}"' in html


def test_no_sales_yet(staff_client):
    html = staff_client.get(INDEX).content.decode()
    assert card(html, "sales-today") == card(html, "sales-month") == Decimal("0.00")
    assert 'id="sales-top"' not in html
    assert 'id="sales-dashboard"' in html


def test_hidden_without_the_view_document_permission(client, db):
    staff = UserFactory(is_staff=True, office=None)
    grant(staff, "users.view_user")
    client.force_login(staff)
    with CaptureQueriesContext(connection) as ctx:
        html = client.get(INDEX).content.decode()
    assert 'id="sales-dashboard"' not in html
    assert not any('"sales_document"' in q["sql"] for q in ctx.captured_queries)


def _index_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(INDEX)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def test_query_count(staff_client):
    """Session, user, the user's and groups' permissions, the two aggregates, the recent
    actions box: 7 queries, however many documents and sellers there are."""
    today = timezone.localdate()
    doc_type = DocumentTypeFactory()
    office = OfficeFactory()
    for _ in range(3):
        _sell(UserFactory(office=office), today, "10.00", doc_type=doc_type, office=office)

    queries = _index_queries(staff_client)
    # Today's and this month's summaries, both on the totals the triggers keep: the
    # dashboard never scans the documents.
    assert not [sql for sql in queries if '"sales_document"' in sql]
    summaries = [sql for sql in queries if '"sales_seller' in sql and 'total"' in sql]
    assert len(summaries) == 2
    assert all("GROUP BY" in sql.upper() for sql in summaries)
    assert len(queries) == 7, "\n".join(queries)

    for _ in range(30):
        _sell(UserFactory(office=office), today, "10.00", doc_type=doc_type, office=office)
    assert len(_index_queries(staff_client)) == 7
