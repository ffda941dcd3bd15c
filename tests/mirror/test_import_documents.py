"""``manage.py import_documents FILE``: the mirror's upsert service, every bad line
reported by number, --dry-run, all or nothing."""

import io

import pytest
from django.core.management import CommandError, call_command

from sales.models import Document
from tests.factories import DocumentTypeFactory, OfficeFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "id,document_type_id,number,emission_date,expiration_date,generation_date,office_id,user_id,net_amount,tax_amount,exempt_amount,total_amount,state\n"


@pytest.fixture
def refs():
    return DocumentTypeFactory(), OfficeFactory(), UserFactory()


def line(pk, refs, **overrides):
    dtype, office, user = refs
    cells = {
        "id": pk,
        "document_type_id": dtype.pk,
        "number": 5000 + pk,
        "emission_date": "2025-03-01",
        "expiration_date": "",
        "generation_date": "2025-03-01T10:00:00+00:00",
        "office_id": office.pk,
        "user_id": user.pk,
        "net_amount": "100.00",
        "tax_amount": "19.00",
        "exempt_amount": "0",
        "total_amount": "119.00",
        "state": 0,
        **overrides,
    }
    return ",".join(str(value) for value in cells.values()) + "\n"


def run(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_documents", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_a_csv_and_a_second_import_changes_nothing(tmp_path, refs):
    path = tmp_path / "docs.csv"
    path.write_text(HEADER + "".join(line(pk, refs) for pk in range(1, 2501)))
    out, _ = run(path)
    assert "2500 created" in out
    document = Document.objects.get(pk=7)
    assert str(document.total_amount) == "119.00" and document.user_id == refs[2].pk
    out, _ = run(path)
    assert "0 created, 0 updated, 2500 unchanged" in out


def test_json_lines(tmp_path, refs):
    dtype, office, _user = refs
    path = tmp_path / "docs.jsonl"
    path.write_text(
        f'{{"id": 3, "document_type_id": {dtype.pk}, "number": 1, "emission_date": "2025-01-02",'
        f' "office_id": {office.pk}, "total_amount": "10.50"}}\n\n'
    )
    out, _ = run(path)
    assert "1 created" in out
    assert Document.objects.get(pk=3).user_id is None


def test_every_bad_line_is_reported_by_number_and_nothing_is_written(tmp_path, refs):
    path = tmp_path / "docs.csv"
    path.write_text(
        HEADER
        + line(1, refs)
        + line(2, refs, total_amount="abc")  # line 3
        + line(3, refs, office_id=999999)  # line 4: unknown office
        + line(4, refs, emission_date="2025-13-01")  # line 5
        + line(5, refs, user_id=888888)  # line 6: unknown seller
        + line(6, refs, office_id=999999)  # line 7: the same unknown office again
        + line(7, refs, state=4)  # line 8
    )
    with pytest.raises(CommandError, match="6 bad line"):
        run(path)
    assert not Document.objects.exists()


def test_the_errors_name_lines_and_columns(tmp_path, refs):
    path = tmp_path / "docs.csv"
    path.write_text(HEADER + line(1, refs, total_amount="-5") + line(2, refs, document_type_id=777))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_documents", str(path), stdout=io.StringIO(), stderr=err)
    assert err.getvalue().splitlines() == [
        "line 2: total_amount must be greater than or equal to 0",
        "line 3: unknown document type id 777",
    ]


def test_dry_run_counts_and_writes_nothing(tmp_path, refs):
    path = tmp_path / "docs.csv"
    path.write_text(HEADER + line(1, refs) + line(2, refs))
    out, _ = run(path, "--dry-run")
    assert "Would import 2 document lines: 2 created" in out
    assert not Document.objects.exists()


def test_a_clash_in_the_write_rolls_everything_back(tmp_path, refs):
    path = tmp_path / "docs.csv"
    # Two ids with the same number for the same type: valid lines, a unique clash.
    path.write_text(HEADER + line(1, refs) + line(2, refs, number=5001))
    with pytest.raises(CommandError, match="nothing was imported"):
        run(path)
    assert not Document.objects.exists()


def test_a_missing_header_column_or_file(tmp_path):
    path = tmp_path / "docs.csv"
    path.write_text("id,number\n1,2\n")
    with pytest.raises(CommandError, match="1 bad line"):
        run(path)
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "nope.csv")
