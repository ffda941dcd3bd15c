"""The history writers the admin uses: every write recorded in the audit trail, by the service."""

import datetime as dt
from decimal import Decimal

import pytest

from sales.models import SalesHistoryEntry
from sales.services import (
    history_entries_delete,
    history_entries_edit,
    history_entry_json,
    history_entry_save,
)
from tests.factories import SalesHistoryEntryFactory, UserFactory
from users.models import AuditEntry

pytestmark = pytest.mark.django_db
ADMIN = AuditEntry.Source.ADMIN


def as_json(entry):
    return history_entry_json(entry.nit, entry.amount, entry.date, entry.emc)


def history_audits(user):
    return list(AuditEntry.objects.filter(user=user, field=AuditEntry.Field.HISTORY).order_by("id"))


def test_create_is_recorded_as_an_addition():
    user, actor = UserFactory(), UserFactory()
    entry = SalesHistoryEntry(
        user=user,
        nit="1",
        amount=Decimal("5.00"),
        date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        emc="A",
    )
    history_entry_save(entry=entry, actor=actor, source=ADMIN)
    [audit] = history_audits(user)
    assert (audit.before, audit.after, audit.actor, audit.source) == (
        [],
        [as_json(entry)],
        actor,
        ADMIN,
    )


def test_change_records_the_stored_values_as_before():
    entry = SalesHistoryEntryFactory(amount=Decimal("100.00"))
    stored = as_json(entry)
    entry.amount = Decimal("120.00")
    history_entry_save(entry=entry, actor=None, source=ADMIN)
    [audit] = history_audits(entry.user)
    assert audit.before == [stored]
    assert audit.after[0]["monto"] == "120.00"


def test_unchanged_save_records_nothing():
    entry = SalesHistoryEntryFactory()
    history_entry_save(entry=SalesHistoryEntry.objects.get(pk=entry.pk), actor=None, source=ADMIN)
    assert history_audits(entry.user) == []


def test_moving_an_entry_is_a_deletion_and_an_addition():
    entry = SalesHistoryEntryFactory()
    first, second = entry.user, UserFactory()
    stored = as_json(entry)
    entry.user = second
    history_entry_save(entry=entry, actor=None, source=ADMIN)
    [removed] = history_audits(first)
    [added] = history_audits(second)
    assert (removed.before, removed.after) == ([stored], [])
    assert (added.before, added.after) == ([], [stored])


def test_delete_records_one_entry_per_user():
    one, other = UserFactory(), UserFactory()
    entries = [
        *SalesHistoryEntryFactory.create_batch(2, user=one),
        SalesHistoryEntryFactory(user=other),
    ]
    expected = [as_json(e) for e in entries]
    deleted = history_entries_delete(
        entries=SalesHistoryEntry.objects.select_related("user").order_by("id"),
        actor=None,
        source=ADMIN,
    )
    assert deleted == 3
    assert not SalesHistoryEntry.objects.exists()
    assert [a.before for a in history_audits(one)] == [expected[:2]]
    assert [a.before for a in history_audits(other)] == [expected[2:]]


def test_edit_saves_and_deletes_with_one_audit_entry_newest_first():
    user = UserFactory()
    older, newer, kept = SalesHistoryEntryFactory.create_batch(3, user=user)
    before = [as_json(newer), as_json(older)]  # the inline's order: newest first
    newer.amount = Decimal("1.00")
    added = SalesHistoryEntry(
        user=user,
        nit="2",
        amount=Decimal("3.00"),
        date=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        emc="B",
    )
    history_entries_edit(user=user, saved=[newer, added], deleted=[older], actor=None, source=ADMIN)
    assert set(SalesHistoryEntry.objects.values_list("pk", flat=True)) == {
        newer.pk,
        kept.pk,
        added.pk,
    }
    [audit] = history_audits(user)
    assert audit.before == before
    assert audit.after == [as_json(newer), as_json(added)]
