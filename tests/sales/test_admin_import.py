"""The admin's sales-history import: errors by line before anything is written, a preview,
a confirmation that writes through the same service as ``import_sales_history``."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from sales import history_import
from sales.models import PendingHistoryImport, SalesHistoryEntry
from tests.conftest import grant
from tests.factories import SalesHistoryEntryFactory, UserFactory
from users.models import AuditEntry

pytestmark = pytest.mark.django_db

URL = "/admin/sales/saleshistoryentry/import/"
HEADER = "user_id,nit,monto,fecha,emc\n"


@pytest.fixture
def staff(db):
    user = UserFactory(username="ana", is_staff=True, office=None)
    grant(user, "users.change_sales_history", "sales.view_saleshistoryentry")
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def merchants(db):
    return UserFactory(username="bodega1", office=None), UserFactory(
        username="bodega2", office=None
    )


def upload(client, content: str | bytes, *, name="history.csv", replace=False, **extra):
    data = content.encode() if isinstance(content, str) else content
    payload = {"file": SimpleUploadedFile(name, data, content_type="text/csv")}
    if replace:
        payload["replace"] = "on"
    return client.post(URL, payload, **extra)


def token_of(response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    assert match, "no confirmation form"
    return match.group(1)


def error_lines(response) -> list[tuple[int, str]]:
    table = response.content.decode().split('id="import-errors"', 1)[1]
    return [
        (int(line), message)
        for line, message in re.findall(
            r'<tr data-line="(\d+)"><td class="number">\d+</td><td>(.*?)</td></tr>', table
        )
    ]


def nothing_written(before_entries: int = 0) -> bool:
    return SalesHistoryEntry.objects.count() == before_entries and not AuditEntry.objects.exists()


# --- Bad files --------------------------------------------------------------------------


def test_a_bad_file_lists_every_bad_line_and_writes_nothing(staff_client, merchants):
    a, b = merchants
    content = (
        HEADER
        + f"{a.uuid},900123456-7,150000.50,2024-03-01T10:30:00-05:00,Postobón\n"  # 2: good
        + f"{a.uuid},,abc,2024-03-01,Alpina\n"  # 3: empty nit, bad amount
        + "not-a-uuid,1,1,2024-03-01,X\n"  # 4: bad user id
        + "6f1c7a52-0000-4000-8000-000000000000,1,1,2024-03-01,X\n"  # 5: unknown user
        + f"{b.uuid},1,1,2024-13-01,X\n"  # 6: bad date
        + f"{a.uuid},900123456-7,1,2024-03-01T10:30:00-05:00,Postobón\n"  # 7: repeats 2
        + f"{b.uuid},1,1\n"  # 8: columns
        + f"{b.uuid},1,-5,2024-03-01,X\n"  # 9: negative
    )
    response = upload(staff_client, content)
    assert response.status_code == 200
    lines = error_lines(response)
    assert [line for line, _ in lines] == [3, 3, 4, 5, 6, 7, 8, 9]
    messages = dict(lines)
    # In Spanish (the default), with the command's field names.
    assert lines[0][1] == "nit: no puede estar vacío"
    assert lines[1][1] == "monto: debe ser un número"
    assert messages[4] == "user_id: debe ser un UUID"
    assert (
        messages[5] == "user_id: no existe un usuario con id 6f1c7a52-0000-4000-8000-000000000000"
    )
    assert messages[6].startswith("fecha: ")
    assert messages[7] == "repite la línea 2 (mismos user_id, nit, fecha y emc)"
    assert messages[8] == "se esperaban 5 columnas y hay 3"
    assert messages[9] == "monto: debe ser mayor o igual a 0"
    assert "8 errores" in response.content.decode()
    assert 'name="token"' not in response.content.decode()
    assert nothing_written()
    assert not PendingHistoryImport.objects.exists()


def test_errors_in_english_for_an_english_browser(staff_client, merchants):
    a, _ = merchants
    response = upload(
        staff_client, HEADER + f"{a.uuid},1,abc,2024-03-01,X\n", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert error_lines(response) == [(2, "monto: must be a number")]


def test_the_admin_reports_what_the_command_reports(staff_client, merchants, tmp_path):
    """Same rules, same lines, same messages: the command's output, line for line."""
    a, b = merchants
    content = (
        HEADER
        + f"{a.uuid},1,1.234,2024-03-01,X\n"
        + f"{a.uuid},{'9' * 40},1,2024-03-01,X\n"
        + f"{b.uuid},1,1e400,2024-03-01,\n"
        + "00000000-0000-4000-8000-000000000001,1,1,2024-03-01,X\n"
        + f"{b.uuid},2,1,2024-03-01,Y\n"
        + f"{b.uuid},2,3,2024-03-01T00:00:00-05:00,Y\n"
        + f"{a.uuid},1,1,2024-03-01,X,extra\n"
    )
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_sales_history", str(path), "--no-progress", stderr=err)
    command_lines = err.getvalue().splitlines()

    validated = history_import.validate_upload(content.encode(), "csv")
    assert [str(error) for error in validated.errors] == command_lines
    response = upload(staff_client, content, HTTP_ACCEPT_LANGUAGE="en")
    assert [f"line {n}: {m}" for n, m in error_lines(response)] == command_lines


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xef\xbb\xbf", "el archivo está vacío"),  # only a byte order mark
        ("\n", "línea 1: el encabezado debe nombrar las columnas"),
        ("user_id,nit,monto\n", "línea 1: el encabezado debe nombrar las columnas"),
        (b"user_id,nit,monto,fecha,emc\n\xff\xfe,1,1,2024-03-01,X\n", "no es UTF-8"),
        ('"user_id,nit,monto,fecha,emc\n', "línea 1: CSV ilegible"),  # the header's quote
        (HEADER, "El archivo no tiene entradas."),
    ],
)
def test_unreadable_files(staff_client, content, expected):
    response = upload(staff_client, content)
    assert response.status_code == 200
    html = response.content.decode()
    assert expected in html
    assert 'id="import-file-error"' in html
    assert nothing_written()


def test_unterminated_quotes_are_reported_line_by_line(staff_client, merchants):
    """A broken quote spoils its own line only: every bad line is listed, the next ones
    are read as usual."""
    a, _b = merchants
    content = (
        HEADER
        + '"unclosed,1,1,2024-03-01,X\n'  # 2
        + f"{a.uuid},900123456,10.50,2024-03-01,X\n"  # 3: good
        + f'{a.uuid},"9001,10.50,2024-03-02,X\n'  # 4
        + f"{a.uuid},900123456,abc,2024-03-03,X\n"  # 5
    )
    response = upload(staff_client, content)
    assert [n for n, _m in error_lines(response)] == [2, 4, 5]
    assert error_lines(response)[0][1].startswith("CSV ilegible (")
    assert nothing_written()


def test_only_csv_and_json_lines(staff_client):
    response = upload(staff_client, HEADER, name="history.xlsx")
    assert response.status_code == 200
    assert "file" in response.context["form"].errors
    assert upload(staff_client, b"", name="history").status_code == 200


def test_no_file_or_an_empty_one(staff_client):
    response = staff_client.post(URL, {})
    assert response.status_code == 200
    assert "file" in response.context["form"].errors
    response = upload(staff_client, b"")
    assert "file" in response.context["form"].errors
    assert nothing_written()


# --- Good files -------------------------------------------------------------------------


def test_preview_then_confirm_writes_and_audits(staff_client, staff, merchants):
    a, b = merchants
    SalesHistoryEntryFactory(
        user=a,
        nit="900123456-7",
        emc="Postobón",
        date=dt.datetime(2024, 3, 1, 15, 30, tzinfo=dt.UTC),
    )  # 150000.50: the file updates it
    content = (
        HEADER
        + f"{a.uuid},900123456-7,99.90,2024-03-01T10:30:00-05:00,Postobón\n"
        + f"{a.uuid},800111222-3,10,2024-03-02,Alpina\n"
        + f"{b.uuid},800111222-3,20.5,2024-03-02,Alpina\n"
    )
    preview = upload(staff_client, content)
    assert preview.status_code == 200
    html = preview.content.decode()
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', html))
    assert counts == {"created": "2", "updated": "1", "deleted": "0", "unchanged": "0"}
    assert "Todavía no se ha guardado nada" in html
    # Nothing yet: the preview writes nothing.
    assert SalesHistoryEntry.objects.count() == 1 and not AuditEntry.objects.exists()
    assert PendingHistoryImport.objects.count() == 1

    response = staff_client.post(URL, {"token": token_of(preview), "confirm": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/sales/saleshistoryentry/"
    assert SalesHistoryEntry.objects.count() == 3
    assert SalesHistoryEntry.objects.get(user=a, nit="900123456-7").amount == Decimal("99.90")
    assert SalesHistoryEntry.objects.get(user=b).amount == Decimal("20.50")

    audits = list(AuditEntry.objects.order_by("user_id"))
    assert [audit.user_id for audit in audits] == sorted([a.pk, b.pk])
    for audit in audits:
        assert audit.source == AuditEntry.Source.ADMIN
        assert audit.field == AuditEntry.Field.HISTORY
        assert audit.actor_id == staff.pk
    audit_a = next(audit for audit in audits if audit.user_id == a.pk)
    assert audit_a.before == [
        {
            "nit": "900123456-7",
            "monto": "150000.50",
            "fecha": "2024-03-01T10:30:00-05:00",
            "emc": "Postobón",
        }
    ]
    assert len(audit_a.after) == 2

    # The success message, and the stored upload is gone (it cannot be imported twice).
    page = staff_client.get(response["Location"]).content.decode()
    assert "Historial de ventas importado para 2 usuarios" in page
    assert not PendingHistoryImport.objects.exists()
    again = staff_client.post(URL, {"token": token_of(preview), "confirm": "1"})
    assert again.status_code == 302 and again["Location"] == URL
    assert AuditEntry.objects.count() == 2


def test_replace_deletes_the_users_other_entries(staff_client, merchants):
    a, b = merchants
    SalesHistoryEntryFactory(user=a, emc="Old")
    SalesHistoryEntryFactory(user=b, emc="Kept")  # b is not in the file
    preview = upload(staff_client, HEADER + f"{a.uuid},1,5,2024-03-01,New\n", replace=True)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', preview.content.decode()))
    assert counts == {"created": "1", "updated": "0", "deleted": "1", "unchanged": "0"}
    assert "Modo: reemplazar" in preview.content.decode()
    staff_client.post(URL, {"token": token_of(preview)})
    assert list(SalesHistoryEntry.objects.filter(user=a).values_list("emc", flat=True)) == ["New"]
    assert SalesHistoryEntry.objects.filter(user=b, emc="Kept").exists()
    audit = AuditEntry.objects.get()
    assert audit.before[0]["emc"] == "Old" and audit.after[0]["emc"] == "New"


def test_json_lines_too(staff_client, merchants):
    a, _ = merchants
    content = (
        f'{{"user_id": "{a.uuid}", "nit": "1", "monto": 12.5, "fecha": "2024-03-01", "emc": "X"}}\n'
    )
    preview = upload(staff_client, content, name="history.jsonl")
    staff_client.post(URL, {"token": token_of(preview)})
    assert SalesHistoryEntry.objects.get(user=a).amount == Decimal("12.50")


def test_the_same_file_twice_changes_nothing_the_second_time(staff_client, merchants):
    a, _ = merchants
    content = HEADER + f"{a.uuid},1,5,2024-03-01,X\n"
    staff_client.post(URL, {"token": token_of(upload(staff_client, content))})
    preview = upload(staff_client, content)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', preview.content.decode()))
    assert counts == {"created": "0", "updated": "0", "deleted": "0", "unchanged": "1"}
    staff_client.post(URL, {"token": token_of(preview)})
    assert AuditEntry.objects.count() == 1  # nothing changed: no second audit row


# --- Between preview and confirmation ---------------------------------------------------


def test_validated_again_on_confirmation(staff_client, merchants):
    a, b = merchants
    content = HEADER + f"{a.uuid},1,5,2024-03-01,X\n" + f"{b.uuid},1,5,2024-03-01,X\n"
    preview = upload(staff_client, content)
    b.delete()  # between the preview and the confirmation
    response = staff_client.post(URL, {"token": token_of(preview)})
    assert response.status_code == 200
    assert error_lines(response) == [(3, f"user_id: no existe un usuario con id {b.uuid}")]
    assert nothing_written()


def test_cancel(staff_client, merchants):
    a, _ = merchants
    preview = upload(staff_client, HEADER + f"{a.uuid},1,5,2024-03-01,X\n")
    response = staff_client.post(URL, {"token": token_of(preview), "cancel": "1"})
    assert response.status_code == 302 and response["Location"] == URL
    assert not PendingHistoryImport.objects.exists()
    assert staff_client.post(URL, {"token": token_of(preview)})["Location"] == URL
    assert nothing_written()


@pytest.mark.parametrize("token", ["", "x", "../../etc/passwd", "A" * 32, "a" * 5000])
def test_an_unknown_token_writes_nothing(staff_client, token):
    response = staff_client.post(URL, {"token": token})
    assert response.status_code == 302 and response["Location"] == URL
    assert "expiró o no existe" in staff_client.get(URL).content.decode()
    assert nothing_written()


def test_a_token_works_only_in_the_session_that_uploaded(client, staff_client, merchants):
    a, _ = merchants
    preview = upload(staff_client, HEADER + f"{a.uuid},1,5,2024-03-01,X\n")
    other = UserFactory(is_staff=True, office=None)
    grant(other, "users.change_sales_history")
    client.force_login(other)  # ``client`` and ``staff_client`` are the same object:
    response = client.post(URL, {"token": token_of(preview)})  # a new session
    assert response.status_code == 302
    assert nothing_written()


def test_an_upload_changed_in_the_database_is_refused(staff_client, merchants):
    a, _ = merchants
    preview = upload(staff_client, HEADER + f"{a.uuid},1,5,2024-03-01,X\n")
    PendingHistoryImport.objects.update(
        content=HEADER.encode() + b"%s,1,9999,2024-03-01,X\n" % str(a.uuid).encode()
    )
    response = staff_client.post(URL, {"token": token_of(preview)})
    assert response.status_code == 302
    assert nothing_written()


def test_kept_in_the_database_for_its_owner_until_it_expires(staff_client, staff, merchants):
    a, _ = merchants
    preview = upload(staff_client, HEADER + f"{a.uuid},1,5,2024-03-01,X\n")
    stored = PendingHistoryImport.objects.get()
    assert stored.token == token_of(preview) and stored.owner == staff
    assert bytes(stored.content).startswith(HEADER.encode())
    # Expired: refused, and deleted by the next upload (of anybody).
    PendingHistoryImport.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert staff_client.post(URL, {"token": token_of(preview)})["Location"] == URL
    assert nothing_written()
    fresh = upload(staff_client, HEADER + f"{a.uuid},1,6,2024-03-01,X\n")
    assert list(PendingHistoryImport.objects.values_list("token", flat=True)) == [token_of(fresh)]


def test_another_owner_cannot_confirm_with_the_same_session(staff_client, merchants):
    a, _ = merchants
    preview = upload(staff_client, HEADER + f"{a.uuid},1,5,2024-03-01,X\n")
    PendingHistoryImport.objects.update(owner=UserFactory(office=None))
    assert staff_client.post(URL, {"token": token_of(preview)})["Location"] == URL
    assert nothing_written()


def test_only_the_latest_previews_of_a_session_are_kept(staff_client, merchants):
    a, _ = merchants
    tokens = [
        token_of(upload(staff_client, HEADER + f"{a.uuid},1,{n},2024-03-01,X\n"))
        for n in range(history_import.MAX_PENDING_PER_SESSION + 2)
    ]
    assert PendingHistoryImport.objects.count() == history_import.MAX_PENDING_PER_SESSION
    assert staff_client.post(URL, {"token": tokens[0]})["Location"] == URL  # dropped
    staff_client.post(URL, {"token": tokens[-1]})
    assert SalesHistoryEntry.objects.get(user=a).amount == Decimal(len(tokens) - 1)


# --- Permissions ------------------------------------------------------------------------


def test_needs_the_history_permission(client, db):
    staff = UserFactory(is_staff=True, office=None)
    grant(staff, "sales.view_saleshistoryentry", "sales.change_saleshistoryentry")
    client.force_login(staff)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"token": "x"}).status_code == 403
    changelist = client.get("/admin/sales/saleshistoryentry/").content.decode()
    assert URL not in changelist


def test_linked_from_the_history_list_and_the_index(staff_client):
    assert URL in staff_client.get("/admin/sales/saleshistoryentry/").content.decode()
    assert URL in staff_client.get("/admin/").content.decode()


def test_anonymous_goes_to_the_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
