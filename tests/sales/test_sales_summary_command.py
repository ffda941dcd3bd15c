"""``manage.py sales_summary`` shows the API's numbers, in three formats."""

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import CreditNoteTypeFactory, DocumentFactory, DocumentTypeFactory, UserFactory

DAY = dt.date(2015, 8, 3)
DAY_UNIX = 1438560000


@pytest.fixture
def sales(db):
    """Daniela: 1190 + 595 sold, 119 returned. Luis: 60 sold, and a void sale that counts nowhere."""
    boleta, credit_note = DocumentTypeFactory(), CreditNoteTypeFactory()
    daniela = UserFactory(first_name="Daniela", last_name="Valdes")
    luis = UserFactory(first_name="Luis", last_name="Guzman")

    def doc(user, kind, total, tax, **extra):
        return DocumentFactory(
            user=user,
            document_type=kind,
            emission_date=DAY,
            total_amount=Decimal(total),
            tax_amount=Decimal(tax),
            net_amount=Decimal(total) - Decimal(tax),
            **extra,
        )

    doc(daniela, boleta, "1190.00", "190.00")
    doc(daniela, boleta, "595.00", "95.00")
    doc(daniela, credit_note, "119.00", "19.00")
    doc(luis, boleta, "60.00", "9.58")
    doc(luis, boleta, "1000.00", "159.66", state=1)
    return daniela, luis


def run(*args) -> str:
    out = StringIO()
    call_command("sales_summary", *args, stdout=out)
    return out.getvalue()


def test_json_matches_the_api(sales, auth_client):
    command = json.loads(run("--start", "2015-08-03", "--end", "2015-08-03", "--format", "json"))
    api = auth_client.get(
        f"/v1/users/sales_summary.json?startdate={DAY_UNIX}&enddate={DAY_UNIX}"
    ).json()
    assert command["total"] == api["total"] == 1726.0
    assert [(s["id"], s["subtotal"], s["taxSubtotal"]) for s in command["sellers"]] == [
        (s["id"], s["subtotal"], s["taxSubtotal"]) for s in api["sellers"]
    ]
    assert [s["fullName"] for s in command["sellers"]] == ["Daniela Valdes", "Luis Guzman"]
    assert command["sellers"][0]["sales"] == 1785.0
    assert command["sellers"][0]["returns"] == 119.0


def test_table_lists_sellers_and_total(sales):
    out = run("--start", "2015-08-03", "--end", "2015-08-03")
    assert "Daniela Valdes" in out
    assert "1666.00" in out  # 1785 - 119
    assert "TOTAL" in out and "1726.00" in out
    assert "2 seller(s)" in out


def test_csv_and_one_user(sales):
    daniela, _luis = sales
    out = run(
        "--start", "2015-08-03", "--end", "2015-08-03", "--user", str(daniela.pk), "--format", "csv"
    )
    lines = out.strip().splitlines()
    # Text quoted (common.csv_export), numbers not.
    assert lines[0] == '"id","seller","sales","returns","subtotal","tax"'
    assert lines[1:] == [f'{daniela.pk},"Daniela Valdes",1785.00,119.00,1666.00,266.00']


def test_office_filter(sales):
    daniela, _luis = sales
    office_id = daniela.documents.first().office_id
    out = json.loads(
        run(
            "--start",
            "2015-08-03",
            "--end",
            "2015-08-03",
            "--office",
            str(office_id),
            "--format",
            "json",
        )
    )
    assert [s["id"] for s in out["sellers"]] == [daniela.pk]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "yesterday"], "is not a date"),
        (["--start", "2015-08-04", "--end", "2015-08-03"], "after"),
        (["--user", "999999"], "no user"),
        (["--office", "999999"], "no office"),
    ],
)
def test_bad_input_is_a_clear_error(db, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_empty_range(db):
    out = json.loads(run("--start", "2015-08-03", "--end", "2015-08-03", "--format", "json"))
    assert out == {
        "startDate": "2015-08-03",
        "endDate": "2015-08-03",
        "total": 0.0,
        "taxTotal": 0.0,
        "sellers": [],
    }
