"""A user's history is bounded (SALES_HISTORY_MAX_ENTRIES_PER_USER, default 20,000): a
write that would pass the bound is a 400 naming it and the would-be count, and writes
nothing, whichever door it comes through."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from sales.models import SalesHistoryEntry
from sales.services import DEFAULT_MAX_ENTRIES_PER_USER, MAX_HISTORY_ENTRIES
from tests.api_helpers import assert_error
from tests.conftest import grant, token_for
from tests.factories import SalesHistoryEntryFactory, UserFactory
from users.models import AuditEntry

pytestmark = pytest.mark.django_db
BASE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def entries(count: int, start: int = 0, monto: float = 1.5) -> list[dict]:
    return [
        {
            "nit": f"900{i:07d}",
            "monto": monto,
            "fecha": (BASE + dt.timedelta(minutes=i)).isoformat(),
            "emc": "Postobón",
        }
        for i in range(start, start + count)
    ]


@pytest.fixture
def client(db):
    account = UserFactory(office=None)
    grant(account, "users.view_user", "users.change_sales_history")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(account)}")
    return client


DOORS = ["leancore", "v1"]


def write(client, door: str, merchant, history: list[dict], replace: bool = False):
    body = {"history": history, "replace": replace}
    if door == "leancore":
        body["user_id"] = str(merchant.uuid)
        return client.post("/update-user-sales-history", body, format="json")
    return client.post(f"/v1/users/{merchant.pk}/history.json", body, format="json")


def assert_refused(response, *, bound: int, would_be: int) -> None:
    body = assert_error(response, 400, "history")
    assert f"at most {bound}" in body["error"]
    assert f"would have {would_be} entries" in body["error"]


@pytest.fixture
def small_bound(settings):
    settings.SALES_HISTORY_MAX_ENTRIES_PER_USER = 5
    return 5


@pytest.mark.parametrize("door", DOORS)
def test_a_merge_past_the_bound_is_a_400_and_writes_nothing(client, small_bound, door):
    merchant = UserFactory()
    assert write(client, door, merchant, entries(3)).status_code == 200
    assert write(client, door, merchant, entries(2, start=3)).status_code == 200  # at it
    audits = AuditEntry.objects.count()
    # Two new and one changed: 7 would be too many; the changed one is not written either.
    response = write(client, door, merchant, [*entries(2, start=5), *entries(1, monto=9.0)])
    assert_refused(response, bound=small_bound, would_be=7)
    assert SalesHistoryEntry.objects.filter(user=merchant).count() == 5
    assert set(SalesHistoryEntry.objects.values_list("amount", flat=True)) == {Decimal("1.50")}
    assert AuditEntry.objects.count() == audits


@pytest.mark.parametrize("door", DOORS)
def test_at_the_bound_entries_still_change_and_a_replace_may_shrink(client, small_bound, door):
    merchant = UserFactory()
    assert write(client, door, merchant, entries(5)).status_code == 200
    response = write(client, door, merchant, entries(5, monto=2.25))
    assert response.status_code == 200
    assert {h["monto"] for h in response.json()["history"]} == {2.25}
    response = write(client, door, merchant, entries(5, start=100), replace=True)
    assert response.status_code == 200
    assert len(response.json()["history"]) == 5
    assert_refused(
        write(client, door, merchant, entries(6, start=200), replace=True),
        bound=small_bound,
        would_be=6,
    )
    assert SalesHistoryEntry.objects.filter(user=merchant, nit="9000000100").exists()


def test_a_history_already_past_the_bound_may_change_but_not_grow(client, small_bound):
    merchant = UserFactory()
    for i in range(7):  # written before the bound existed
        SalesHistoryEntryFactory(
            user=merchant, nit=f"900{i:07d}", date=BASE + dt.timedelta(minutes=i), emc="Postobón"
        )
    assert write(client, "leancore", merchant, entries(2, monto=3.0)).status_code == 200
    assert_refused(write(client, "leancore", merchant, entries(1, start=50)), bound=5, would_be=8)
    assert SalesHistoryEntry.objects.filter(user=merchant).count() == 7


def test_the_default_bound_holds_at_its_size(client):
    """Two full requests reach the default bound; one entry more is refused."""
    merchant = UserFactory()
    assert DEFAULT_MAX_ENTRIES_PER_USER == 2 * MAX_HISTORY_ENTRIES
    for start in (0, MAX_HISTORY_ENTRIES):
        response = write(client, "leancore", merchant, entries(MAX_HISTORY_ENTRIES, start))
        assert response.status_code == 200
    assert len(response.json()["history"]) == DEFAULT_MAX_ENTRIES_PER_USER
    response = write(client, "v1", merchant, entries(1, start=DEFAULT_MAX_ENTRIES_PER_USER))
    assert_refused(response, bound=20_000, would_be=20_001)
    assert SalesHistoryEntry.objects.filter(user=merchant).count() == 20_000


def _csv(merchant, count: int) -> str:
    rows = [f"{merchant.uuid},900{i:07d},1,2024-03-01T00:{i:02d}:00,X\n" for i in range(count)]
    return "user_id,nit,monto,fecha,emc\n" + "".join(rows)


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "write"])
def test_the_import_command_stops_at_the_bound(small_bound, tmp_path, dry_run):
    from django.core.management import CommandError, call_command

    merchant = UserFactory()
    path = tmp_path / "history.csv"
    path.write_text(_csv(merchant, 6), encoding="utf-8")
    args = [str(path), *(["--dry-run"] if dry_run else [])]
    with pytest.raises(CommandError, match="at most 5 are allowed per user"):
        call_command("import_sales_history", *args, stdout=_Sink(), stderr=_Sink())
    assert not SalesHistoryEntry.objects.exists()


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def test_the_admin_import_preview_stops_at_the_bound(small_bound, client, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.HISTORY_IMPORT_DIR = str(tmp_path / "uploads")
    staff = UserFactory(is_staff=True, office=None)
    grant(staff, "users.change_sales_history", "sales.view_saleshistoryentry")
    browser = APIClient()
    browser.force_login(staff)
    merchant = UserFactory()
    upload = SimpleUploadedFile("h.csv", _csv(merchant, 6).encode(), content_type="text/csv")
    response = browser.post("/admin/sales/saleshistoryentry/import/", {"file": upload})
    assert response.status_code == 200
    assert "at most 5 are allowed per user" in response.content.decode()
    assert not SalesHistoryEntry.objects.exists()


def test_the_admin_forms_cannot_grow_a_history_past_the_bound(small_bound, staff_client):
    from sales.models import SalesHistoryEntry as Entry
    from tests.admin_helpers import admin_url, form_data
    from users.models import User

    merchant = UserFactory()
    for i in range(5):
        SalesHistoryEntryFactory(user=merchant, nit=f"900{i:07d}")
    # The user page's inline: one entry more is an error on the page, nothing written.
    url = admin_url(User, "change", merchant.pk)
    data = form_data(staff_client.get(url), "user_form")
    data.update(
        {
            "history-TOTAL_FORMS": str(int(data["history-TOTAL_FORMS"]) + 1),
            f"history-{data['history-TOTAL_FORMS']}-nit": "890903939-5",
            f"history-{data['history-TOTAL_FORMS']}-amount": "1.00",
            f"history-{data['history-TOTAL_FORMS']}-date_0": "2024-03-01",
            f"history-{data['history-TOTAL_FORMS']}-date_1": "10:30:00",
            f"history-{data['history-TOTAL_FORMS']}-emc": "X",
            f"history-{data['history-TOTAL_FORMS']}-user": str(merchant.pk),
            "_save": "Save",
        }
    )
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert "at most 5 are allowed per user" in response.content.decode()
    # The history entries' own add form.
    url = admin_url(Entry, "add")
    data = form_data(staff_client.get(url), "saleshistoryentry_form")
    data.update(
        user=str(merchant.pk),
        nit="890903939-5",
        amount="1.00",
        date_0="2024-03-01",
        date_1="10:30:00",
        emc="X",
        _save="Save",
    )
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert "at most 5 are allowed per user" in response.content.decode()
    assert Entry.objects.filter(user=merchant).count() == 5


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client
