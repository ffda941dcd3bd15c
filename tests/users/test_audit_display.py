"""The audit trail for people ("what: before → after"), Leancore's status in Spanish, and
django-axes' section kept for superusers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from tests.conftest import grant
from tests.factories import UserFactory
from users.admin import status_label
from users.audit_display import change_lines
from users.models import AuditEntry

ENTRY = {
    "nit": "20100190797",
    "monto": "1500.00",
    "fecha": "2026-01-05T04:30:00-05:00",
    "emc": "Gloria",
}


@pytest.fixture(autouse=True)
def _spanish_lima(settings):
    settings.TIME_ZONE = "America/Lima"
    with translation.override("es"):
        yield


def test_a_quota_change_reads_before_arrow_after_without_quotes():
    assert change_lines("quota", "9250.00", "9500.00") == ["9\xa0250,00 → 9\xa0500,00"]
    assert change_lines("quota", None, "100.00") == ["— → 100,00"]


def test_history_changes_pair_entries_by_key_in_the_configured_time_zone():
    changed = {**ENTRY, "monto": "1650.50"}
    added = {**ENTRY, "nit": "1", "fecha": "2026-01-06T14:00:00+00:00"}  # UTC in, Lima out
    deleted = {**ENTRY, "emc": "Alicorp"}
    lines = change_lines("history", [ENTRY, deleted], [changed, added])
    assert lines == [
        "Gloria · NIT 20100190797 · 05/01/2026 04:30: 1\xa0500,00 → 1\xa0650,50",
        "Alicorp · NIT 20100190797 · 05/01/2026 04:30: 1\xa0500,00 → —",
        "Gloria · NIT 1 · 06/01/2026 09:00: — → 1\xa0500,00",
    ]
    assert not any('"' in line for line in lines)


def test_long_history_changes_are_cut_with_a_count():
    after = [{**ENTRY, "nit": str(n)} for n in range(7)]
    lines = change_lines("history", [], after, limit=4)
    assert len(lines) == 5 and lines[-1] == "… y 3 más"


def test_an_unexpected_shape_is_still_shown_plainly():
    assert change_lines("history", {"replaced": 3}, None) == ["replaced: 3 → —"]


@pytest.mark.django_db
def test_the_entry_title_uses_the_configured_time_zone():
    user = UserFactory(username="rosa")
    entry = AuditEntry.objects.create(
        user=user, user_repr="rosa", source="api", field="quota", before="1.00", after="2.00"
    )
    entry.created_at = dt.datetime(2026, 1, 5, 14, 0, tzinfo=dt.UTC)
    assert str(entry) == "Cupo · rosa · 2026-01-05 09:00"  # Lima, as the page's body shows


def test_leancore_statuses_are_shown_in_spanish_and_stored_as_sent():
    assert [status_label(s) for s in ("active", "pending", "blocked", "suspended", "inactive")] == [
        "activo",
        "pendiente",
        "bloqueado",
        "suspendido",
        "inactivo",
    ]
    assert status_label("vip") == "vip"  # free text Leancore may add: as it is
    assert status_label("") == "—"


@pytest.mark.django_db
def test_the_status_select_keeps_the_stored_value(staff_client):
    user = UserFactory(status="vip", quota=Decimal("1.00"))
    html = staff_client.get(f"/admin/users/user/{user.pk}/change/").content.decode()
    assert '<option value="active">activo</option>' in html
    assert '<option value="vip" selected>vip</option>' in html


@pytest.mark.django_db
def test_axes_section_is_spanish_for_superusers_and_hidden_from_other_staff(client, staff_client):
    html = staff_client.get("/admin/").content.decode()  # a superuser
    assert "Intentos de acceso" in html and "Access attempts" not in html
    staff = UserFactory(is_staff=True)
    grant(staff, "users.view_user", "axes.view_accessattempt")
    client.force_login(staff)
    html = client.get("/admin/").content.decode()
    assert "Usuarios" in html
    assert "Intentos de acceso" not in html and "/admin/axes/" not in html
