"""A staff member's day in the back office, in a real (headless) browser, in Spanish."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from sales.admin_views import month_bounds
from sales.models import SalesHistoryEntry
from tests.browser.conftest import SCREENSHOTS
from tests.conftest import token_for
from tests.factories import (
    CreditNoteTypeFactory,
    DocumentFactory,
    DocumentTypeFactory,
    OfficeFactory,
    UserFactory,
)
from users.models import AuditEntry, User

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

PASSWORD = "secret-pass-123"  # tests.factories.UserFactory's


def unix(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


@pytest.fixture
def back_office():
    """A staff member, a merchant to edit, and this month's sales of a few sellers."""
    staff = UserFactory(
        username="ana", first_name="Ana", is_staff=True, is_superuser=True, office=None
    )
    merchant = UserFactory(
        username="bodega_rosa",
        first_name="Rosa",
        last_name="Quispe",
        business_name="Bodega Doña Rosa",
        quota=Decimal("1500000.00"),
        office=None,
    )
    today = timezone.localdate()
    first, _last = month_bounds(today)
    sale, credit = DocumentTypeFactory(), CreditNoteTypeFactory()
    lima, cusco = OfficeFactory(name="Lima Centro"), OfficeFactory(name="Cusco")
    sellers = []
    names = [("Daniela", "Valdés"), ("Bruno", "Díaz"), ("Carla", "Ríos"), ("Mateo", "Huamán")]
    for n, (first_name, last_name) in enumerate(names):
        seller = UserFactory(first_name=first_name, last_name=last_name, office=lima)
        sellers.append(seller)
        for k in range(3):
            total = Decimal(150_000 * (n + 1) + 12_345 * k) + Decimal("0.50")
            DocumentFactory(
                document_type=sale,
                user=seller,
                office=lima if k else cusco,
                emission_date=first if k == 0 else today,
                total_amount=total,
                tax_amount=(total * 19 / 119).quantize(Decimal("0.01")),
                net_amount=total - (total * 19 / 119).quantize(Decimal("0.01")),
            )
    DocumentFactory(
        document_type=credit,
        user=sellers[0],
        office=lima,
        emission_date=today,
        total_amount=Decimal("25000.00"),
        tax_amount=Decimal("3991.60"),
        net_amount=Decimal("21008.40"),
    )
    return {"staff": staff, "merchant": merchant, "sellers": sellers}


def test_staff_edit_a_merchant_and_read_the_sales_summary(live_server, page, back_office):
    base = live_server.url
    merchant = back_office["merchant"]

    # Log in, in Spanish.
    page.goto(f"{base}/admin/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_label("Nombre de usuario").is_visible()
    page.get_by_label("Nombre de usuario").fill("ana")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(f"{base}/admin/")
    assert page.locator("#sales-dashboard").is_visible()
    assert page.get_by_role("link", name="Resumen de ventas").first.is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    # Find the merchant with the search box.
    page.locator("#users-user a").first.click()
    page.locator("#searchbar").fill("bodega_rosa")
    page.locator("#searchbar").press("Enter")
    page.wait_for_url(re.compile(r".*\?q=bodega_rosa"))
    page.get_by_role("link", name="bodega_rosa").click()
    page.wait_for_url(re.compile(rf".*/admin/users/user/{merchant.pk}/change/"))

    # Edit the quota and add a history entry inline, then save and stay.
    page.locator("#id_quota").fill("2500000.00")
    page.locator(".add-row a").click()
    page.locator("#id_history-0-nit").fill("900123456-7")
    page.locator("#id_history-0-amount").fill("150000.50")
    page.locator("#id_history-0-date_0").fill("2024-03-01")
    page.locator("#id_history-0-date_1").fill("10:30:00")
    page.locator("#id_history-0-emc").fill("Postobón")
    page.locator('input[name="_continue"]').click()
    page.wait_for_selector(".messagelist .success")

    # Both changes are in the audit trail shown on the page, by "ana", through the admin.
    audit = page.locator(".field-recent_audit table")
    rows = audit.locator("tbody tr")
    assert rows.count() == 2
    text = audit.inner_text()
    assert "Cupo" in text and "Historial de ventas" in text
    assert text.count("Administración") == 2 and "ana" in text
    # Read as "before → after", amounts in Spanish (no-break space groups thousands).
    assert "1\xa0500\xa0000,00 → 2\xa0500\xa0000,00" in text and "Postobón" in text
    merchant.refresh_from_db()
    assert merchant.quota == Decimal("2500000.00")
    assert SalesHistoryEntry.objects.get(user=merchant).amount == Decimal("150000.50")
    assert set(
        AuditEntry.objects.filter(user=merchant).values_list("field", "source", "actor_id")
    ) == {
        ("quota", "admin", back_office["staff"].pk),
        ("history", "admin", back_office["staff"].pk),
    }

    # The sales summary: this month by default, a bar per seller, the API's totals.
    page.goto(f"{base}/admin/")
    page.get_by_role("link", name="Resumen de ventas").first.click()
    page.wait_for_selector("svg.sales-chart")
    assert page.locator("h1").inner_text() == "Resumen de ventas"
    bars = page.locator("svg.sales-chart rect.bar")
    assert bars.count() == len(back_office["sellers"])

    first, last = month_bounds(timezone.localdate())
    api = requests.get(
        f"{base}/v1/users/sales_summary.json",
        params={"startdate": unix(first), "enddate": unix(last)},
        headers={"Authorization": f"Bearer {token_for(back_office['staff'])}"},
        timeout=10,
    ).json(parse_float=Decimal, parse_int=Decimal)
    page_total = Decimal(
        page.locator("#sales-total .sales-card-amount").get_attribute("data-value")
    )
    assert page_total == api["total"]
    for seller in api["sellers"]:
        row = page.locator(f'tr[data-seller-id="{seller["id"]}"]')
        subtotal = row.locator('td[data-column="subtotal"]').get_attribute("data-value")
        assert Decimal(subtotal) == seller["subtotal"], seller["fullName"]
        bar = page.locator(f'svg.sales-chart rect.bar[data-key="{seller["id"]}"]')
        assert Decimal(bar.get_attribute("data-value")) == seller["subtotal"]
        assert float(bar.get_attribute("width")) > 0
    # Amounts shown the Spanish way (Django's "es" format): 1 234 567,89 (no-break spaces).
    assert re.fullmatch(
        r"\d{1,3}(\xa0\d{3})*,\d{2}", page.locator("#sales-total .sales-card-amount").inner_text()
    )

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sales_summary.png"), full_page=True)

    # The CSV download of the same table.
    with page.expect_download() as download:
        page.locator("#sales-summary-csv").click()
    csv_text = download.value.path().read_text(encoding="utf-8-sig")
    total_row = csv_text.strip().splitlines()[-1].split(",")
    assert Decimal(total_row[4]) == api["total"]

    # The language switch: English on the next page, whatever the browser says.
    page.get_by_role("button", name="EN").click()
    page.wait_for_selector("h1:has-text('Sales summary')")
    assert page.locator("html").get_attribute("lang") == "en"
    assert re.fullmatch(
        r"\d{1,3}(,\d{3})*\.\d{2}", page.locator("#sales-total .sales-card-amount").inner_text()
    )
    assert User.objects.filter(pk=merchant.pk).exists()


def test_staff_import_a_history_file(live_server, page, back_office, tmp_path, settings):
    merchant = back_office["merchant"]
    bad = tmp_path / "historial.csv"
    bad.write_text(
        "user_id,nit,monto,fecha,emc\n"
        f"{merchant.uuid},900123456-7,abc,2024-03-01,Postobón\n"
        f"{merchant.uuid},900123456-7,10,2024-03-01,Postobón\n",
        encoding="utf-8",
    )
    page.goto(f"{live_server.url}/admin/login/?next=/admin/sales/saleshistoryentry/")
    page.get_by_label("Nombre de usuario").fill("ana")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.get_by_role("link", name="Importar historial de ventas").first.click()

    page.locator("#id_file").set_input_files(str(bad))
    page.get_by_role("button", name="Revisar el archivo").click()
    errors = page.locator("#import-errors tbody tr")
    assert errors.count() == 1
    assert errors.first.inner_text().split("\t") == ["2", "monto: debe ser un número"]
    assert not SalesHistoryEntry.objects.exists()

    good = tmp_path / "historial-bueno.csv"
    good.write_text(bad.read_text(encoding="utf-8").replace(",abc,", ",12.5,"), encoding="utf-8")
    page.locator("#id_file").set_input_files(str(good))
    page.get_by_role("button", name="Revisar el archivo").click()
    # Both lines have the same key: the second repeats the first.
    assert "repite la línea 2" in page.locator("#import-errors").inner_text()

    good.write_text(
        "user_id,nit,monto,fecha,emc\n"
        f"{merchant.uuid},900123456-7,12.5,2024-03-01,Postobón\n"
        f"{merchant.uuid},900123456-7,10,2024-03-02,Postobón\n",
        encoding="utf-8",
    )
    page.locator("#id_file").set_input_files(str(good))
    page.get_by_role("button", name="Revisar el archivo").click()
    assert page.locator('#import-counts td[data-count="created"]').inner_text() == "2"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "history_import_preview.png"), full_page=True)
    assert not SalesHistoryEntry.objects.exists()

    page.get_by_role("button", name="Confirmar e importar").click()
    page.wait_for_selector(".messagelist .success")
    assert "importado para 1 usuario" in page.locator(".messagelist").inner_text()
    assert SalesHistoryEntry.objects.filter(user=merchant).count() == 2
    audit = AuditEntry.objects.get(user=merchant)
    assert (audit.source, audit.actor_id) == ("admin", back_office["staff"].pk)
