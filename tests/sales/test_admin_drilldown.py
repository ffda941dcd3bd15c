"""The document changelist's date drill-down: the same dates as Django's DISTINCT, found
by bounded index probes (sales/drilldown.py) in one query."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from sales.drilldown import DrillDownQuerySet
from sales.models import Document
from tests.admin_helpers import admin_url
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db
DAYS = [
    dt.date(2024, 12, 31),
    dt.date(2025, 1, 1),
    dt.date(2025, 1, 1),
    dt.date(2025, 3, 15),
    dt.date(2025, 3, 16),
    dt.date(2026, 2, 28),
]


@pytest.fixture
def documents(db):
    return [DocumentFactory(emission_date=day, state=i % 2) for i, day in enumerate(DAYS)]


@pytest.mark.parametrize("kind", ["year", "month", "day"])
@pytest.mark.parametrize("order", ["ASC", "DESC"])
@pytest.mark.parametrize(
    "filters",
    [{}, {"state": 0}, {"emission_date__year": 2025}, {"emission_date__year": 2030}],
)
def test_same_dates_as_django(documents, kind, order, filters):
    ours = DrillDownQuerySet(Document).filter(**filters)
    django = QuerySet(Document).filter(**filters)
    assert list(ours.dates("emission_date", kind, order)) == list(
        django.dates("emission_date", kind, order)
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite uses Django's DISTINCT")
def test_one_probe_query_without_distinct(documents):
    with CaptureQueriesContext(connection) as ctx:
        months = (
            DrillDownQuerySet(Document)
            .filter(emission_date__year=2025)
            .dates("emission_date", "month")
        )
    assert months == [dt.date(2025, 1, 1), dt.date(2025, 3, 1)]
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert len(sqls) == 2  # the first and last date, then the probes in one UNION ALL
    assert not any("DISTINCT" in sql.upper() for sql in sqls)
    assert "UNION ALL" in sqls[1].upper()


def test_changelist_drills_down(staff_client, documents):
    url = admin_url(Document, "changelist")
    html = staff_client.get(url).content.decode()
    for year in (2024, 2025, 2026):
        assert f"emission_date__year={year}" in html
    html = staff_client.get(url, {"emission_date__year": 2025}).content.decode()
    assert "emission_date__month=1" in html
    assert "emission_date__month=3" in html
    assert "emission_date__month=2" not in html
    html = staff_client.get(
        url, {"emission_date__year": 2025, "emission_date__month": 3}
    ).content.decode()
    assert "emission_date__day=15" in html
    assert "emission_date__day=16" in html
    assert "emission_date__day=17" not in html
