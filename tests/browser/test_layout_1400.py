"""The back office at a laptop's width (1400x900): every list fits, the most used columns
are on screen, a merchant with 50 history entries has one compact line per entry, the
audit trail reads "before -> after".

Each test writes a screenshot into ``artifacts/screenshots/`` (git-ignored) to look at:
``users-list-1400.png``, ``documents-list-1400.png``, ``history-list-1400.png``,
``seller-50-history-1400.png``, ``audit-trail-1400.png``, ``index-1400.png``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from sales.services import HistoryEntryData, sales_history_update
from tests.browser.conftest import SCREENSHOTS
from tests.factories import SalesHistoryEntryFactory, UserFactory
from users.models import AuditEntry, User
from users.services import user_quota_update

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 1400, 900
PASSWORD = "secret-pass-123"  # tests.factories.UserFactory's
EMCS = ["Alicorp", "Backus (AB InBev)", "Gloria", "Postobón", "Nestlé Perú", "Colombina"]


@pytest.fixture
def laptop(browser, request):
    context = browser.new_context(
        locale="es-PE", timezone_id="America/Lima", viewport={"width": WIDTH, "height": HEIGHT}
    )
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


@pytest.fixture
def demo(db):
    """The demo data `make run` shows (realistic names and amounts), a superuser, and a
    merchant with 50 history entries and five audited changes."""
    call_command(
        "seed_demo",
        offices=6,
        users=80,
        sellers=8,
        documents=400,
        history=100,
        stdout=StringIO(),
        stderr=StringIO(),
    )
    staff = UserFactory(username="ana", first_name="Ana", is_staff=True, is_superuser=True)
    merchant = UserFactory(
        username="bodega_rosa",
        first_name="Rosa María",
        last_name="Quispe Huamán",
        business_name="Bodega y Minimarket Doña Rosa E.I.R.L.",
        quota=Decimal("9250.00"),
        status="pending",
    )
    start = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
    for n in range(50):
        SalesHistoryEntryFactory(
            user=merchant,
            nit=f"20{n:09d}",
            amount=Decimal("1234.50") + n * 100,
            date=start + dt.timedelta(days=n, hours=n % 7),
            emc=EMCS[n % len(EMCS)],
        )
    # Five changes: three quota changes (admin, API, command) and two history changes.
    for quota, source in (("9500.00", "admin"), ("12000.00", "api"), ("11800.50", "command")):
        user_quota_update(user=merchant, quota=Decimal(quota), actor=staff, source=source)
    sales_history_update(
        user=merchant,
        entries=[HistoryEntryData("20000000000", Decimal("1500.00"), start, EMCS[0])],
        actor=staff,
        source="api",
    )
    sales_history_update(
        user=merchant,
        entries=[
            HistoryEntryData("20999999999", Decimal("88.90"), start, "Arca Continental Lindley")
        ],
        actor=None,
        source="command",
    )
    assert AuditEntry.objects.filter(user=merchant).count() == 5
    return {"staff": staff, "merchant": merchant}


def login(page, base: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.get_by_label("Nombre de usuario").fill("ana")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(f"{base}/admin/")


def shot(page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def box(page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not displayed"
    return found


def test_changelists_fit_1400_px_with_their_main_columns(live_server, laptop, demo):
    page, base = laptop, live_server.url
    login(page, base)

    page.goto(f"{base}/admin/users/user/")
    shot(page, "users-list-1400.png")
    assert page_width(page) <= WIDTH
    assert box(page, "#result_list")["x"] + box(page, "#result_list")["width"] <= WIDTH
    # No column hidden behind a scroll bar of the results box.
    assert page.evaluate(
        "(() => { const r = document.querySelector('#changelist .results');"
        " return r.scrollWidth <= r.clientWidth; })()"
    )
    quota = box(page, "#result_list input[name$='-quota']")
    assert quota["x"] >= 0 and quota["x"] + quota["width"] <= WIDTH  # editable, on screen
    headers = page.locator("#result_list thead th").all_inner_texts()
    for column in ("Nombre de usuario", "Nombre", "Razón social", "Sucursal", "Cupo", "Estado"):
        assert any(column.lower() in h.lower() for h in headers), (column, headers)
    statuses = set(page.locator("#result_list td.field-status_label").all_inner_texts())
    assert statuses and statuses <= {"activo", "pendiente", "bloqueado", "suspendido", "inactivo"}

    page.goto(f"{base}/admin/sales/document/")
    shot(page, "documents-list-1400.png")
    assert page_width(page) <= WIDTH
    headers = " ".join(page.locator("#result_list thead th").all_inner_texts()).lower()
    for column in ("número", "tipo de documento", "fecha de emisión", "vendedor", "total"):
        assert column in headers, (column, headers)

    page.goto(f"{base}/admin/sales/saleshistoryentry/")
    shot(page, "history-list-1400.png")
    assert page_width(page) <= WIDTH
    # The title's text (not its full-width block) against the buttons' box.
    title = page.evaluate(
        "(() => { const r = document.createRange();"
        " r.selectNodeContents(document.querySelector('#content h1'));"
        " const b = r.getBoundingClientRect();"
        " return {x: b.x, y: b.y, width: b.width, height: b.height}; })()"
    )
    tools = box(page, ".object-tools")
    overlap = not (
        title["x"] + title["width"] <= tools["x"]
        or tools["y"] + tools["height"] <= title["y"]
        or title["y"] + title["height"] <= tools["y"]
    )
    assert not overlap, (title, tools)  # the title is not under the Import/Add buttons


def test_a_seller_with_50_history_entries_is_one_line_per_entry(live_server, laptop, demo):
    page, base = laptop, live_server.url
    login(page, base)
    page.goto(f"{base}/admin/users/user/{demo['merchant'].pk}/change/")
    page.locator("#history-group").scroll_into_view_if_needed()
    shot(page, "seller-50-history-1400.png")
    shot(page, "seller-50-history-1400-full.png", full_page=True)
    rows = page.locator("#history-group tbody tr.form-row.has_original")
    assert rows.count() == 50
    heights = [rows.nth(i).bounding_box()["height"] for i in range(rows.count())]
    assert max(heights) <= 48, heights  # one line: date and time side by side
    date, time = box(page, "#id_history-0-date_0"), box(page, "#id_history-0-date_1")
    assert abs(date["y"] - time["y"]) < 5 and time["x"] > date["x"]
    assert page_width(page) <= WIDTH
    group = box(page, "#history-group")
    assert group["height"] < 50 * 48 + 200
    # Status shown in Spanish, stored as Leancore's value.
    assert page.locator("#id_status option:checked").inner_text() == "pendiente"


def test_the_audit_trail_reads_before_and_after(live_server, laptop, demo):
    page, base = laptop, live_server.url
    login(page, base)
    page.goto(f"{base}/admin/users/auditentry/")
    shot(page, "audit-trail-1400.png")
    assert page_width(page) <= WIDTH
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 5
    changes = [
        text.replace("\xa0", " ")  # Spanish groups thousands with a no-break space
        for text in page.locator("#result_list td.field-change").all_inner_texts()
    ]
    assert "9 500,00 → 12 000,00" in changes, changes
    assert not [text for text in changes if '"' in text], changes  # no JSON quotes
    assert any(re.search(r"Arca Continental Lindley.*88,90", text) for text in changes), changes
    heights = [rows.nth(i).bounding_box()["height"] for i in range(5)]
    assert max(heights) <= 60, heights

    # One time zone (TIME_ZONE, Lima) for an entry's title and its body.
    entry = AuditEntry.objects.filter(user=demo["merchant"]).order_by("id").first()
    page.goto(f"{base}/admin/users/auditentry/{entry.pk}/change/")
    shot(page, "audit-entry-1400.png")
    local = entry.created_at.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    subtitle = page.locator("#content h2").first.inner_text()  # the entry's name
    assert local.strftime("%Y-%m-%d %H:%M") in subtitle, subtitle
    assert local.strftime("%H:%M") in page.locator("div.field-created_at").inner_text()
    body = page.locator("#content-main").inner_text().replace("\xa0", " ")
    assert "9 250,00 → 9 500,00" in body and '"9250.00"' not in body


def test_the_index_at_1400_px(live_server, laptop, demo):
    page, base = laptop, live_server.url
    login(page, base)
    shot(page, "index-1400.png", full_page=True)
    assert page_width(page) <= WIDTH
    text = page.locator("#content-main").inner_text()
    assert "Access attempts" not in text and "Access failures" not in text
    # A staff member who is not a superuser does not see django-axes' section at all.
    User.objects.filter(pk=demo["staff"].pk).update(is_superuser=False)
    staff = User.objects.get(pk=demo["staff"].pk)
    from tests.conftest import grant

    grant(staff, "users.view_user")
    page.goto(f"{base}/admin/")
    assert "Axes" not in page.locator("#content-main").inner_text()
