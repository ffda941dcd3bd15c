"""The admin's sales summary page: the API's numbers, a chart, a CSV, form errors, one query."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sales.admin_views import CHART_TOP, SUMMARY_PAGE_SIZE, month_bounds
from sales.selectors import sales_summary
from tests.conftest import grant, token_for
from tests.factories import (
    CreditNoteTypeFactory,
    DocumentFactory,
    DocumentTypeFactory,
    OfficeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = "/admin/sales/document/summary/"
API = "/v1/users/sales_summary.json"
AUG_3 = dt.date(2015, 8, 3)
AUG_5 = dt.date(2015, 8, 5)


def unix(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


@pytest.fixture
def staff(db):
    """Staff allowed to read documents, and nothing else."""
    user = UserFactory(username="ana", is_staff=True, office=None)
    grant(user, "sales.view_document")
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def sales_data(db):
    """Two offices, three sellers, sales, a return, a void sale and a dispatch guide."""
    sale, credit = DocumentTypeFactory(), CreditNoteTypeFactory()
    guide = DocumentTypeFactory(name="Guía", code="52", use=2)
    lima, cusco = OfficeFactory(name="Lima"), OfficeFactory(name="Cusco")
    daniela = UserFactory(first_name="Daniela", last_name="Valdés", office=lima)
    bruno = UserFactory(first_name="Bruno", last_name="Díaz", office=cusco)
    carla = UserFactory(first_name="Carla", last_name="Ríos", office=lima)

    def doc(doc_type, user, office, total, tax, day=AUG_3, state=0):
        total, tax = Decimal(total), Decimal(tax)
        return DocumentFactory(
            document_type=doc_type,
            user=user,
            office=office,
            emission_date=day,
            total_amount=total,
            tax_amount=tax,
            net_amount=total - tax,
            state=state,
        )

    doc(sale, daniela, lima, "255000.00", "40714.00")
    doc(sale, daniela, cusco, "1190.50", "190.08", day=AUG_5)
    doc(credit, daniela, lima, "119.00", "19.00")
    doc(sale, bruno, cusco, "5000.00", "798.32")
    doc(sale, bruno, cusco, "999999.00", "0.00", state=1)  # void: counts nowhere
    doc(guide, bruno, cusco, "777.00", "0.00")  # a dispatch: not a sale
    doc(credit, carla, lima, "300.00", "47.90")  # only a return: a negative subtotal
    doc(sale, carla, lima, "1.00", "0.16", day=dt.date(2015, 9, 1))  # out of range
    return {"lima": lima, "cusco": cusco, "daniela": daniela, "bruno": bruno, "carla": carla}


def page_rows(response) -> dict[int, dict[str, Decimal]]:
    """The table's rows as ``{seller id: {column: exact value}}`` (from data-value)."""
    html = response.content.decode()
    body = html.split('<table class="sales-summary"', 1)[1].split("</table>", 1)[0]
    tbody = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = {}
    for seller_id, row in re.findall(r'<tr data-seller-id="(\d+)">(.*?)</tr>', tbody, re.S):
        cells = re.findall(r'data-column="(\w+)" data-value="([^"]+)"', row)
        rows[int(seller_id)] = {column: Decimal(value) for column, value in cells}
    return rows


def card_value(response, card_id: str) -> Decimal:
    html = response.content.decode()
    match = re.search(rf'id="{card_id}">.*?data-value="([^"]+)"', html, re.S)
    assert match, card_id
    return Decimal(match.group(1))


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def api_summary(client, reader, start: dt.date, end: dt.date) -> dict:
    response = client.get(
        API,
        {"startdate": unix(start), "enddate": unix(end)},
        HTTP_AUTHORIZATION=f"Bearer {token_for(reader)}",
    )
    assert response.status_code == 200, response.content
    return json.loads(response.content, parse_float=Decimal, parse_int=Decimal)


# --- The numbers --------------------------------------------------------------------------


def test_page_and_csv_show_the_api_numbers_for_the_same_dates(staff_client, reader, sales_data):
    params = {"start": "2015-08-01", "end": "2015-08-31"}
    page = staff_client.get(URL, params)
    assert page.status_code == 200
    api = api_summary(staff_client.__class__(), reader, dt.date(2015, 8, 1), dt.date(2015, 8, 31))
    api_sellers = {int(s["id"]): s for s in api["sellers"]}

    rows = page_rows(page)
    assert (
        set(rows)
        == set(api_sellers)
        == {sales_data[name].pk for name in ("daniela", "bruno", "carla")}
    )
    for seller_id, row in rows.items():
        assert row["subtotal"] == api_sellers[seller_id]["subtotal"]
        assert row["tax"] == api_sellers[seller_id]["taxSubtotal"]
        assert row["sales"] - row["returns"] == row["subtotal"]
    assert card_value(page, "sales-total") == api["total"] == Decimal("260771.50")

    exported = csv_rows(staff_client.get(URL, {**params, "export": "csv"}))
    header, *body, footer = exported
    assert len(header) == 6
    by_id = {int(r[0]): r for r in body}
    assert set(by_id) == set(api_sellers)
    for seller_id, row in by_id.items():
        seller = api_sellers[seller_id]
        assert row[1] == seller["fullName"]
        assert Decimal(row[4]) == seller["subtotal"]
        assert Decimal(row[5]) == seller["taxSubtotal"]
        assert Decimal(row[2]) - Decimal(row[3]) == Decimal(row[4])
    assert Decimal(footer[4]) == api["total"]
    # Sorted like the API: by full name.
    assert [int(r[0]) for r in body] == [int(s["id"]) for s in api["sellers"]]


def test_exact_amounts(staff_client, sales_data):
    rows = page_rows(staff_client.get(URL, {"start": "2015-08-03", "end": "2015-08-03"}))
    daniela, bruno, carla = (sales_data[n].pk for n in ("daniela", "bruno", "carla"))
    assert rows[daniela] == {
        "sales": Decimal("255000.00"),
        "returns": Decimal("119.00"),
        "subtotal": Decimal("254881.00"),
        "tax": Decimal("40695.00"),
    }
    assert rows[bruno]["subtotal"] == Decimal("5000.00")  # the void sale and the guide: no
    assert rows[carla]["subtotal"] == Decimal("-300.00")


def test_office_filter_uses_the_selectors_office_filter(staff_client, sales_data):
    lima = sales_data["lima"]
    response = staff_client.get(
        URL, {"start": "2015-08-01", "end": "2015-08-31", "office": str(lima.pk)}
    )
    expected = sales_summary(start=dt.date(2015, 8, 1), end=dt.date(2015, 8, 31), office_id=lima.pk)
    rows = page_rows(response)
    assert rows == {
        s.user_id: {
            "sales": s.sales,
            "returns": s.returns,
            "subtotal": s.subtotal,
            "tax": s.tax_subtotal,
        }
        for s in expected.sellers
    }
    assert sales_data["bruno"].pk not in rows  # he sold in Cusco only
    # Daniela's Cusco sale is not counted in Lima.
    assert rows[sales_data["daniela"].pk]["sales"] == Decimal("255000.00")
    assert "Lima" in response.content.decode()
    exported = staff_client.get(
        URL, {"start": "2015-08-01", "end": "2015-08-31", "office": lima.pk, "export": "csv"}
    )
    assert f"-office-{lima.pk}.csv" in exported["Content-Disposition"]


def test_defaults_to_this_month_in_the_configured_time_zone(staff_client, settings):
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: "today" differs from UTC's most hours
    today = timezone.localdate()
    first, last = month_bounds(today)
    DocumentFactory(emission_date=first, total_amount=Decimal("10.00"), tax_amount=Decimal("1"))
    DocumentFactory(emission_date=today, total_amount=Decimal("5.00"), tax_amount=Decimal("1"))
    DocumentFactory(
        emission_date=first - dt.timedelta(days=1),
        total_amount=Decimal("1000.00"),
        tax_amount=Decimal("1"),
    )
    response = staff_client.get(URL)
    assert response.status_code == 200
    form = response.context["form"]
    assert (form.cleaned_data["start"], form.cleaned_data["end"]) == (first, last)
    assert card_value(response, "sales-total") == Decimal("15.00")
    html = response.content.decode()
    assert f'value="{first.isoformat()}"' in html and f'value="{last.isoformat()}"' in html


def test_empty_period(staff_client):
    response = staff_client.get(URL, {"start": "2001-01-01", "end": "2001-01-31"})
    assert response.status_code == 200
    assert card_value(response, "sales-total") == Decimal("0.00")
    main = response.content.decode().split("<main", 1)[1].split("</main>", 1)[0]
    assert "<svg" not in main  # no chart
    rows = csv_rows(
        staff_client.get(URL, {"start": "2001-01-01", "end": "2001-01-31", "export": "csv"})
    )
    assert len(rows) == 2  # the header and the total


# --- The chart ----------------------------------------------------------------------------


def bars(response) -> list[tuple[str, Decimal]]:
    svg = re.search(r"<svg[^>]*sales-chart.*?</svg>", response.content.decode(), re.S)
    assert svg, "no chart"
    return [
        (key, Decimal(value))
        for key, value in re.findall(
            r'<rect class="bar[^"]*"[^>]*data-key="(\d+)" data-value="([^"]+)"', svg.group(0)
        )
    ]


def test_chart_has_one_bar_per_seller_highest_first(staff_client, sales_data):
    response = staff_client.get(URL, {"start": "2015-08-01", "end": "2015-08-31"})
    drawn = bars(response)
    assert [key for key, _value in drawn] == [
        str(sales_data[n].pk) for n in ("daniela", "bruno", "carla")
    ]
    assert [value for _key, value in drawn] == sorted((v for _k, v in drawn), reverse=True)
    html = response.content.decode()
    assert 'class="bar negative"' in html  # Carla: more returns than sales
    assert "<script" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]


def test_chart_shows_the_top_sellers_and_says_so(staff_client):
    doc_type = DocumentTypeFactory()
    office = OfficeFactory()
    amounts = {}
    for n in range(CHART_TOP + 5):
        seller = UserFactory(office=office)
        amounts[seller.pk] = Decimal(100 + n)
        DocumentFactory(
            document_type=doc_type,
            user=seller,
            office=office,
            emission_date=AUG_3,
            total_amount=amounts[seller.pk],
        )
    response = staff_client.get(URL, {"start": "2015-08-03", "end": "2015-08-03"})
    drawn = bars(response)
    assert len(drawn) == CHART_TOP
    top = sorted(amounts, key=amounts.get, reverse=True)[:CHART_TOP]
    assert [int(key) for key, _value in drawn] == top
    assert len(page_rows(response)) == CHART_TOP + 5  # the table lists them all
    html = response.content.decode()
    assert "sales-chart-note" in html and str(CHART_TOP + 5) in html


def test_seller_names_are_escaped_everywhere(staff_client):
    seller = UserFactory(first_name="<script>alert(1)</script>", last_name="=HYPERLINK(1)")
    DocumentFactory(user=seller, emission_date=AUG_3)
    response = staff_client.get(URL, {"start": "2015-08-03", "end": "2015-08-03"})
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert "&lt;script&gt;" in response.content.decode()
    rows = csv_rows(
        staff_client.get(URL, {"start": "2015-08-03", "end": "2015-08-03", "export": "csv"})
    )
    assert rows[1][1] == seller.full_name
    seller.first_name = "=cmd"
    seller.save()
    rows = csv_rows(
        staff_client.get(URL, {"start": "2015-08-03", "end": "2015-08-03", "export": "csv"})
    )
    assert rows[1][1].startswith("'=cmd")  # never a spreadsheet formula


def test_table_pages_and_keeps_the_filters(staff_client):
    doc_type = DocumentTypeFactory()
    for _ in range(SUMMARY_PAGE_SIZE + 3):
        DocumentFactory(document_type=doc_type, emission_date=AUG_3, office=None)
    params = {"start": "2015-08-03", "end": "2015-08-03"}
    first = staff_client.get(URL, params)
    assert len(page_rows(first)) == SUMMARY_PAGE_SIZE
    assert "p=2" in first.content.decode()
    second = staff_client.get(URL, {**params, "p": "2"})
    assert len(page_rows(second)) == 3
    assert staff_client.get(URL, {**params, "p": "abc"}).status_code == 200
    assert len(csv_rows(staff_client.get(URL, {**params, "export": "csv"}))) == (
        SUMMARY_PAGE_SIZE + 3 + 2
    )


# --- Input and permissions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2024-13-01", "end": "2024-12-31"}, "start"),
        ({"start": "abc", "end": "2024-12-31"}, "start"),
        ({"start": "", "end": "2024-12-31"}, "start"),
        ({"start": "2024-01-01", "end": "2024-02-30"}, "end"),
        ({"start": "2024-03-01", "end": "2024-02-01"}, "end"),
        ({"start": "1" * 5000, "end": "2024-02-01"}, "start"),
        ({"start": "10000-01-01", "end": "2024-02-01"}, "start"),
        ({"start": "2024-01-01", "end": "2024-02-01", "office": "abc"}, "office"),
        ({"start": "2024-01-01", "end": "2024-02-01", "office": "-1"}, "office"),
        (
            {"start": "2024-01-01", "end": "2024-02-01", "office": "99999999999999999999999"},
            "office",
        ),
        ({"start": "2024-01-01", "end": "2024-02-01", "office": "1.5"}, "office"),
    ],
)
@pytest.mark.parametrize("export", ["", "csv"])
def test_bad_input_is_a_form_error_never_a_500(staff_client, params, field, export):
    response = staff_client.get(URL, {**params, "export": export})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert field in response.context["form"].errors
    assert "errornote" in response.content.decode()


@pytest.mark.parametrize("export", ["", "csv"])
def test_a_nul_in_a_parameter_is_a_400(staff_client, export):
    """Refused at the edge for every page (common.middleware.RejectNulMiddleware)."""
    response = staff_client.get(
        URL, {"start": "2024-01-01\x00", "end": "2024-02-01", "export": export}
    )
    assert response.status_code == 400
    assert response.json()["error"]


def test_extreme_but_valid_dates(staff_client):
    response = staff_client.get(URL, {"start": "0001-01-01", "end": "9999-12-31"})
    assert response.status_code == 200
    assert not response.context["form"].errors


def test_needs_the_view_document_permission(client, db):
    staff = UserFactory(is_staff=True, office=None)
    grant(staff, "sales.view_documenttype")
    client.force_login(staff)
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"export": "csv"}).status_code == 403
    grant(staff, "sales.view_document")
    staff = type(staff).objects.get(pk=staff.pk)  # no cached permissions
    client.force_login(staff)
    assert client.get(URL).status_code == 200


def test_anonymous_and_non_staff_go_to_the_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    user = UserFactory(is_staff=False, office=None)
    grant(user, "sales.view_document")
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_linked_from_the_index_and_the_documents_list(staff_client):
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert f'href="{URL}"' in index
    documents = staff_client.get(reverse("admin:sales_document_changelist")).content.decode()
    assert f'href="{URL}"' in documents


def test_not_linked_without_the_permission(client, db):
    staff = UserFactory(is_staff=True, office=None)
    grant(staff, "sales.view_documenttype")
    client.force_login(staff)
    assert URL not in client.get(reverse("admin:index")).content.decode()


# --- Speed --------------------------------------------------------------------------------


def _document_queries(client, params) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, params)
    assert response.status_code == 200
    sqls = [q["sql"] for q in ctx.captured_queries]
    # The summary reads the totals the triggers keep, never the documents themselves.
    assert not any('"sales_document"' in sql for sql in sqls)
    totals = ('"sales_salesdailytotal"', '"sales_salesmonthlytotal"')
    return len(sqls), sum(any(table in sql for table in totals) for sql in sqls)


@pytest.mark.parametrize("export", ["", "csv"])
def test_one_aggregate_query_whatever_the_number_of_sellers(staff_client, export):
    doc_type, credit = DocumentTypeFactory(), CreditNoteTypeFactory()
    office = OfficeFactory()
    params = {"start": "2015-08-01", "end": "2015-08-31", "office": office.pk, "export": export}

    def add_sellers(count):
        for _ in range(count):
            seller = UserFactory(office=office)
            DocumentFactory(document_type=doc_type, user=seller, office=office, emission_date=AUG_3)
            DocumentFactory(document_type=credit, user=seller, office=office, emission_date=AUG_5)

    add_sellers(2)
    staff_client.get(URL, params)  # warm the session and the permission cache
    few_total, few_documents = _document_queries(staff_client, params)
    add_sellers(25)
    many_total, many_documents = _document_queries(staff_client, params)
    assert few_documents == many_documents == 1
    assert few_total == many_total
