"""The users admin: pages, search, no per-row queries, quota and history audited, PROTECT."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sales.models import SalesHistoryEntry
from tests.admin_helpers import admin_url, count_queries, form_data
from tests.conftest import grant
from tests.factories import (
    DocumentFactory,
    OfficeFactory,
    SalesHistoryEntryFactory,
    UserFactory,
)
from users.models import AuditEntry, User

# --- Pages ------------------------------------------------------------------------------


@pytest.mark.django_db
class TestPages:
    def test_changelist_add_change_render(self, staff_client):
        user = UserFactory()
        SalesHistoryEntryFactory(user=user)
        for url in (
            admin_url(User, "changelist"),
            admin_url(User, "add"),
            admin_url(User, "change", user.pk),
            admin_url(User, "delete", user.pk),
        ):
            assert staff_client.get(url).status_code == 200, url

    def test_change_page_shows_uuid_profile_history_and_recent_audit(
        self, staff_client, admin_user
    ):
        user = UserFactory(business_name="Bodega Doña Rosa")
        SalesHistoryEntryFactory(user=user, emc="Alpina")
        AuditEntry.objects.create(
            user=user,
            user_repr=str(user),
            actor=admin_user,
            actor_repr="boss",
            source=AuditEntry.Source.API,
            field=AuditEntry.Field.QUOTA,
            before="1.00",
            after="2.00",
        )
        response = staff_client.get(admin_url(User, "change", user.pk))
        html = response.content.decode()
        assert str(user.uuid) in html
        assert "Bodega Doña Rosa" in html
        assert 'value="Alpina"' in html  # the history inline
        assert "1,00 → 2,00" in html  # the recent audit panel: readable, no JSON quotes
        assert "&quot;2.00&quot;" not in html
        assert f"?user__exact={user.pk}" in html
        # uuid is read-only: not an input
        assert 'name="uuid"' not in html

    def test_search(self, staff_client):
        wanted = UserFactory(username="carla.quispe", nit="20123456789", last_name="Quispe Mamani")
        UserFactory(username="someone.else")
        for term in (
            "carla.quis",
            "quispe mamani",
            "20123456789",
            "CARLA.QUISPE@example.com",
            str(wanted.uuid),
        ):
            response = staff_client.get(admin_url(User, "changelist"), {"q": term})
            assert [u.pk for u in response.context["cl"].result_list] == [wanted.pk], term

    def test_changelist_query_count_does_not_grow_with_rows(self, staff_client):
        office = OfficeFactory()
        UserFactory.create_batch(2, office=office)
        url = admin_url(User, "changelist")
        staff_client.get(url)  # warm caches (content types, session)
        few = count_queries(staff_client, url)
        UserFactory.create_batch(27)  # 30 rows, each with its own office
        many = count_queries(staff_client, url)
        # session + user, count, page of users joined to their office, the office and
        # group filters: a constant, whatever the number of rows on the page.
        assert few == many

    def test_change_page_query_count_does_not_grow_with_history(self, staff_client):
        user = UserFactory()
        SalesHistoryEntryFactory.create_batch(3, user=user)
        url = admin_url(User, "change", user.pk)
        staff_client.get(url)
        few = count_queries(staff_client, url)
        SalesHistoryEntryFactory.create_batch(27, user=user)
        many = count_queries(staff_client, url)
        assert few == many

    def test_office_is_an_autocomplete_not_a_select_of_every_office(self, staff_client):
        OfficeFactory.create_batch(5, name="Never listed")
        user = UserFactory()
        html = staff_client.get(admin_url(User, "change", user.pk)).content.decode()
        assert "admin-autocomplete" in html
        assert "Never listed" not in html

    def test_inline_edits_only_the_most_recent_history(self, staff_client):
        from sales.admin import INLINE_HISTORY_LIMIT

        user = UserFactory()
        SalesHistoryEntryFactory.create_batch(INLINE_HISTORY_LIMIT + 5, user=user)
        response = staff_client.get(admin_url(User, "change", user.pk))
        data = form_data(response, "user_form")
        assert int(data["history-INITIAL_FORMS"]) == INLINE_HISTORY_LIMIT


# --- Quota: audited, written once, nothing recorded when unchanged ----------------------


@pytest.mark.django_db
class TestQuota:
    def _change(self, client, user, **changes):
        url = admin_url(User, "change", user.pk)
        data = form_data(client.get(url), "user_form")
        data.update(changes)
        data["_save"] = "Save"
        return client.post(url, data)

    def test_change_form_records_quota_change(self, staff_client, admin_user):
        user = UserFactory(quota=Decimal("1500000.00"))
        response = self._change(staff_client, user, quota="2000000.50")
        assert response.status_code == 302, response.context and response.context["errors"]
        user.refresh_from_db()
        assert user.quota == Decimal("2000000.50")
        (entry,) = AuditEntry.objects.filter(user=user)
        assert entry.field == AuditEntry.Field.QUOTA
        assert entry.source == AuditEntry.Source.ADMIN
        assert entry.actor == admin_user
        assert entry.actor_repr == "boss"
        assert (entry.before, entry.after) == ("1500000.00", "2000000.50")

    def test_quota_written_once(self, staff_client):
        user = UserFactory(quota=Decimal("100.00"), first_name="Ana")
        url = admin_url(User, "change", user.pk)
        data = form_data(staff_client.get(url), "user_form")
        data.update(quota="250.00", first_name="Ana María", _save="Save")
        with CaptureQueriesContext(connection) as ctx:
            assert staff_client.post(url, data).status_code == 302
        updates = [
            q["sql"]
            for q in ctx.captured_queries
            if q["sql"].startswith('UPDATE "users_user"') and '"quota"' in q["sql"]
        ]
        assert len(updates) == 1, updates
        user.refresh_from_db()
        assert (user.first_name, user.quota) == ("Ana María", Decimal("250.00"))
        assert AuditEntry.objects.filter(user=user).count() == 1

    def test_unchanged_quota_records_nothing(self, staff_client):
        user = UserFactory(quota=Decimal("1500000.00"), first_name="Ana")
        # Same amount, written differently, plus another field changed.
        response = self._change(staff_client, user, quota="1500000", first_name="Ana Lucía")
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.first_name == "Ana Lucía"
        assert not AuditEntry.objects.filter(user=user).exists()

    def test_negative_quota_is_refused_by_the_form(self, staff_client):
        user = UserFactory(quota=Decimal("10.00"))
        response = self._change(staff_client, user, quota="-1")
        assert response.status_code == 200
        assert "quota" in response.context["adminform"].form.errors
        user.refresh_from_db()
        assert user.quota == Decimal("10.00")
        assert not AuditEntry.objects.exists()

    def test_list_editable_records_quota_change(self, staff_client, admin_user):
        changed = UserFactory(quota=Decimal("100.00"))
        untouched = UserFactory(quota=Decimal("300.00"))
        url = admin_url(User, "changelist")
        data = form_data(staff_client.get(url), "changelist-form")
        rows = {int(data[f"form-{i}-id"]): i for i in range(int(data["form-TOTAL_FORMS"]))}
        data[f"form-{rows[changed.pk]}-quota"] = "175.25"
        data["_save"] = "Save"
        response = staff_client.post(url, data)
        assert response.status_code == 302
        changed.refresh_from_db()
        untouched.refresh_from_db()
        assert changed.quota == Decimal("175.25")
        assert untouched.quota == Decimal("300.00")
        (entry,) = AuditEntry.objects.all()
        assert entry.user == changed
        assert (entry.before, entry.after) == ("100.00", "175.25")
        assert (entry.source, entry.actor) == (AuditEntry.Source.ADMIN, admin_user)

    def test_list_editable_unchanged_records_nothing(self, staff_client):
        UserFactory.create_batch(3, quota=Decimal("100.00"))
        url = admin_url(User, "changelist")
        data = form_data(staff_client.get(url), "changelist-form")
        data["_save"] = "Save"
        assert staff_client.post(url, data).status_code == 302
        assert not AuditEntry.objects.exists()

    def test_add_with_quota_is_recorded(self, staff_client, admin_user):
        url = admin_url(User, "add")
        data = form_data(staff_client.get(url), "user_form")
        data.update(
            username="nueva.tienda",
            usable_password="false",
            quota="5000.00",
            business_name="Minimarket Nuevo",
            _save="Save",
        )
        response = staff_client.post(url, data)
        assert response.status_code == 302, response.context and response.context["errors"]
        user = User.objects.get(username="nueva.tienda")
        assert user.quota == Decimal("5000.00")
        (entry,) = AuditEntry.objects.filter(user=user)
        assert (entry.before, entry.after, entry.actor) == (None, "5000.00", admin_user)


# --- History inline: every add, change and delete lands in the audit trail --------------


@pytest.mark.django_db
class TestHistoryInline:
    def _page(self, client, user):
        url = admin_url(User, "change", user.pk)
        return url, form_data(client.get(url), "user_form")

    def test_add(self, staff_client, admin_user):
        user = UserFactory()
        url, data = self._page(staff_client, user)
        assert data["history-TOTAL_FORMS"] == "0"
        data.update(
            {
                "history-TOTAL_FORMS": "1",
                "history-0-nit": "890903939-5",
                "history-0-amount": "150000.50",
                "history-0-date_0": "2024-03-01",
                "history-0-date_1": "10:30:00",
                "history-0-emc": "Postobón",
                "history-0-user": str(user.pk),
                "_save": "Save",
            }
        )
        response = staff_client.post(url, data)
        assert response.status_code == 302, response.context and response.context["errors"]
        entry = SalesHistoryEntry.objects.get(user=user)
        assert entry.amount == Decimal("150000.50")
        (audit,) = AuditEntry.objects.filter(user=user)
        assert audit.field == AuditEntry.Field.HISTORY
        assert (audit.source, audit.actor) == (AuditEntry.Source.ADMIN, admin_user)
        assert audit.before == []
        assert audit.after == [
            {
                "nit": "890903939-5",
                "monto": "150000.50",
                "fecha": "2024-03-01T10:30:00-05:00",  # America/Lima
                "emc": "Postobón",
            }
        ]

    def test_change(self, staff_client):
        user = UserFactory()
        entry = SalesHistoryEntryFactory(user=user, amount=Decimal("100.00"), emc="Gloria")
        other = SalesHistoryEntryFactory(user=user, amount=Decimal("7.00"), emc="Alicorp")
        url, data = self._page(staff_client, user)
        index = next(
            i
            for i in range(int(data["history-TOTAL_FORMS"]))
            if data[f"history-{i}-id"] == str(entry.pk)
        )
        data[f"history-{index}-amount"] = "120.00"
        data["_save"] = "Save"
        assert staff_client.post(url, data).status_code == 302
        entry.refresh_from_db()
        other.refresh_from_db()
        assert entry.amount == Decimal("120.00")
        assert other.amount == Decimal("7.00")
        (audit,) = AuditEntry.objects.filter(user=user)
        assert [row["monto"] for row in audit.before] == ["100.00"]
        assert [row["monto"] for row in audit.after] == ["120.00"]
        assert audit.before[0]["emc"] == audit.after[0]["emc"] == "Gloria"

    def test_delete(self, staff_client):
        user = UserFactory()
        entry = SalesHistoryEntryFactory(
            user=user,
            amount=Decimal("100.00"),
            emc="Backus",
            date=dt.datetime(2024, 3, 1, 10, 30, tzinfo=dt.UTC),
        )
        url, data = self._page(staff_client, user)
        data["history-0-DELETE"] = "on"
        data["_save"] = "Save"
        assert staff_client.post(url, data).status_code == 302
        assert not SalesHistoryEntry.objects.filter(pk=entry.pk).exists()
        (audit,) = AuditEntry.objects.filter(user=user)
        assert audit.after == []
        assert audit.before == [
            {
                "nit": entry.nit,
                "monto": "100.00",
                "fecha": "2024-03-01T05:30:00-05:00",
                "emc": "Backus",
            }
        ]

    def test_unchanged_history_records_nothing(self, staff_client):
        user = UserFactory()
        SalesHistoryEntryFactory.create_batch(3, user=user)
        url, data = self._page(staff_client, user)
        data["_save"] = "Save"
        assert staff_client.post(url, data).status_code == 302
        assert not AuditEntry.objects.exists()

    def test_duplicate_entry_is_a_form_error_not_a_500(self, staff_client):
        user = UserFactory()
        entry = SalesHistoryEntryFactory(user=user)
        url, data = self._page(staff_client, user)
        local = timezone.localtime(entry.date)
        data.update(
            {
                "history-TOTAL_FORMS": "2",
                "history-1-nit": entry.nit,
                "history-1-amount": "1.00",
                "history-1-date_0": local.date().isoformat(),
                "history-1-date_1": local.strftime("%H:%M:%S"),
                "history-1-emc": entry.emc,
                "history-1-user": str(user.pk),
                "_save": "Save",
            }
        )
        response = staff_client.post(url, data)
        assert response.status_code == 200
        assert SalesHistoryEntry.objects.filter(user=user).count() == 1
        assert not AuditEntry.objects.exists()


# --- PROTECT: a seller with documents cannot be deleted ---------------------------------


@pytest.mark.django_db
class TestProtectedDelete:
    def test_delete_view_refuses(self, staff_client):
        seller = DocumentFactory().user
        url = admin_url(User, "delete", seller.pk)
        response = staff_client.get(url)
        assert response.status_code == 200
        assert response.context["protected"]
        response = staff_client.post(url, {"post": "yes"})
        assert response.status_code == 200
        assert response.context["protected"]
        assert User.objects.filter(pk=seller.pk).exists()

    def test_bulk_delete_refuses(self, staff_client):
        seller = DocumentFactory().user
        free = UserFactory()
        response = staff_client.post(
            admin_url(User, "changelist"),
            {"action": "delete_selected", "_selected_action": [seller.pk, free.pk], "post": "yes"},
        )
        assert response.status_code == 200
        assert response.context["protected"]
        assert User.objects.filter(pk__in=[seller.pk, free.pk]).count() == 2

    def test_many_protecting_documents_are_summarised(self, staff_client):
        seller = UserFactory()
        DocumentFactory.create_batch(13, user=seller)
        response = staff_client.get(admin_url(User, "delete", seller.pk))
        protected = response.context["protected"]
        assert len(protected) == 11  # ten links and "… and 3 more"
        assert "3" in str(protected[-1])

    def test_user_without_documents_is_deleted_with_its_history(self, staff_client):
        user = UserFactory()
        SalesHistoryEntryFactory(user=user)
        response = staff_client.post(admin_url(User, "delete", user.pk), {"post": "yes"})
        assert response.status_code == 302
        assert not User.objects.filter(pk=user.pk).exists()
        assert not SalesHistoryEntry.objects.exists()


# --- The audit trail: read-only for everybody -------------------------------------------


@pytest.mark.django_db
class TestAuditEntryAdmin:
    @pytest.fixture
    def entry(self, admin_user):
        user = UserFactory(username="ana.torres")
        return AuditEntry.objects.create(
            user=user,
            user_repr=str(user),
            actor=admin_user,
            actor_repr=str(admin_user),
            source=AuditEntry.Source.API,
            field=AuditEntry.Field.QUOTA,
            before="1.00",
            after="2.00",
        )

    def test_changelist_and_readonly_change_page(self, staff_client, entry):
        response = staff_client.get(admin_url(AuditEntry, "changelist"))
        assert response.status_code == 200
        assert "delete_selected" not in response.content.decode()
        response = staff_client.get(admin_url(AuditEntry, "change", entry.pk))
        assert response.status_code == 200
        assert response.context["has_change_permission"] is False
        assert 'name="_save"' not in response.content.decode()

    def test_add_change_delete_are_forbidden_even_to_superusers(self, staff_client, entry):
        assert staff_client.get(admin_url(AuditEntry, "add")).status_code == 403
        response = staff_client.post(admin_url(AuditEntry, "change", entry.pk), {"after": '"9"'})
        assert response.status_code == 403
        assert staff_client.get(admin_url(AuditEntry, "delete", entry.pk)).status_code == 403
        assert (
            staff_client.post(
                admin_url(AuditEntry, "delete", entry.pk), {"post": "yes"}
            ).status_code
            == 403
        )
        entry.refresh_from_db()
        assert entry.after == "2.00"

    def test_search_and_filters(self, staff_client, entry, admin_user):
        AuditEntry.objects.create(
            user=None,
            user_repr="someone",
            actor_repr="system",
            source=AuditEntry.Source.COMMAND,
            field=AuditEntry.Field.HISTORY,
        )
        url = admin_url(AuditEntry, "changelist")
        for params in ({"q": "ana.torres"}, {"q": "boss"}, {"source": "api"}, {"field": "quota"}):
            response = staff_client.get(url, params)
            assert [e.pk for e in response.context["cl"].result_list] == [entry.pk], params
        year = entry.created_at.year
        response = staff_client.get(url, {"created_at__year": year})
        assert response.status_code == 200

    def test_changelist_query_count_does_not_grow_with_rows(self, staff_client, admin_user):
        def add(n):
            for user in UserFactory.create_batch(n):
                AuditEntry.objects.create(
                    user=user,
                    user_repr=str(user),
                    actor=admin_user,
                    actor_repr="boss",
                    source="admin",
                    field="quota",
                    before="1",
                    after="2",
                )

        add(3)
        url = admin_url(AuditEntry, "changelist")
        staff_client.get(url)
        few = count_queries(staff_client, url)
        add(27)
        assert count_queries(staff_client, url) == few

    def test_staff_with_view_permission_reads_it(self, client, entry):
        staff = UserFactory(username="auditor", is_staff=True)
        client.force_login(staff)
        url = admin_url(AuditEntry, "changelist")
        assert client.get(url).status_code == 403
        grant(staff, "users.view_auditentry")
        assert client.get(url).status_code == 200
        assert client.get(admin_url(AuditEntry, "change", entry.pk)).status_code == 200
