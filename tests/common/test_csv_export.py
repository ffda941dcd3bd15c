"""CSV exports never hand a spreadsheet a formula, whatever separator its locale splits on.

A seller named ``x;=1+1;`` must not become a ``=1+1`` cell in a Spanish-locale spreadsheet
(which splits on ``;``): every text cell is quoted, and a leading = + - @ tab or CR is
escaped. Both exports (the admin's and ``manage.py sales_summary --format csv``) go through
``common.csv_export``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation

import pytest
from django.core.management import call_command

from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2015, 8, 3)
HOSTILE_NAMES = [
    "x;=1+1;",
    "y,=2+2,",
    "z\t=3+3\t",
    "w\n=4+4\n",
    "v\r\n@SUM(A1)",
    '=HYPERLINK("http://evil")',
    "+5+5",
    "-6+6",
    "@cmd",
    "\t=7+7",
    "\r=8+8",
    'q";=9+9;"',
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(cell: str) -> bool:
    try:
        Decimal(cell)
    except InvalidOperation:
        return False
    return True


def assert_no_formula_in_any_locale(text: str) -> None:
    """Split as a comma, a semicolon or a tab spreadsheet would: no cell is a formula."""
    for delimiter in (",", ";", "\t"):
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            for cell in row:
                stripped = cell.lstrip(' "')
                assert not stripped.startswith(FORMULA_STARTS) or _is_number(stripped), (
                    delimiter,
                    cell,
                    row,
                )


@pytest.fixture
def hostile_sellers():
    sellers = []
    for index, name in enumerate(HOSTILE_NAMES):
        seller = UserFactory(first_name=name, last_name=name)
        DocumentFactory(user=seller, emission_date=DAY, total_amount=Decimal(100 + index))
        sellers.append(seller)
    return sellers


def test_admin_csv_quotes_and_escapes_every_text_cell(staff_client, hostile_sellers):
    response = staff_client.get(
        "/admin/sales/document/summary/",
        {"start": DAY.isoformat(), "end": DAY.isoformat(), "export": "csv"},
    )
    assert response.status_code == 200
    text = response.content.decode("utf-8").removeprefix("\ufeff")
    assert_no_formula_in_any_locale(text)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    names = {row[1] for row in rows[1:-1]}
    # Every name is there, in one cell, with only apostrophes added.
    expected = {f"{s.first_name} {s.last_name}".strip() for s in hostile_sellers}
    assert {name.replace("'", "").strip() for name in names} == expected
    # Numbers stay numbers (unquoted): the total row's amounts.
    assert text.endswith('"","Total",1266.00,0.00,1266.00,228.00\r\n')


def test_command_csv_quotes_and_escapes_every_text_cell(hostile_sellers):
    out = io.StringIO()
    call_command(
        "sales_summary", "--start", DAY.isoformat(), "--end", DAY.isoformat(), "--format", "csv",
        stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert_no_formula_in_any_locale(text)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 1 + len(hostile_sellers)
    assert all(not row[1].startswith(FORMULA_STARTS) for row in rows[1:])
    assert "\"x;'=1+1; x;'=1+1;\"" in text
