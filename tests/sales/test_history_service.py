"""``sales.services``: parsing of history entries and ``sales_history_update``."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.errors import InvalidInput
from sales import history_sql, services
from sales.models import SalesHistoryEntry
from sales.services import (
    HistoryEntryData,
    history_key_digest,
    parse_amount,
    parse_amount_text,
    parse_datetime_iso,
    parse_history,
    parse_history_entry,
    parse_user_uuid,
    sales_history_preview,
    sales_history_update,
)
from tests.factories import SalesHistoryEntryFactory, UserFactory
from users.models import AuditEntry

LIMA = dt.timezone(dt.timedelta(hours=-5))


@pytest.fixture(autouse=True)
def _lima(settings):
    settings.TIME_ZONE = "America/Lima"


def data(emc="Postobón", amount="10.00", day=1, nit="900123456-7") -> HistoryEntryData:
    return HistoryEntryData(
        nit=nit,
        amount=Decimal(amount),
        date=dt.datetime(2024, 3, day, 10, 30, tzinfo=LIMA),
        emc=emc,
    )


# --- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0.00"),
        (150000.5, "150000.50"),
        (0.1, "0.10"),
        (19.99, "19.99"),
        (12, "12.00"),
        (999999999999.99, "999999999999.99"),
        (-0.0, "0.00"),
        (Decimal("1.50"), "1.50"),
        (1.10, "1.10"),
    ],
)
def test_parse_amount_accepts(value, expected):
    result = parse_amount(value)
    assert result == Decimal(expected)
    assert str(result) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "must be a number"),
        ("1", "must be a number"),
        (None, "must be a number"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (Decimal("NaN"), "finite"),
        (-1, ">= 0"),
        (1.005, "2 decimals"),
        (0.1 + 0.2, "2 decimals"),
        (1e-7, "2 decimals"),
        (10**12, "at most"),
        (10**400, "at most"),
    ],
)
def test_parse_amount_refuses(value, message):
    with pytest.raises(ValueError) as exc:
        parse_amount(value)
    assert message.replace(">= 0", "greater than or equal to 0") in str(exc.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("150000.50", "150000.50"),
        (" 12 ", "12.00"),
        ("0", "0.00"),
        ("1e3", "1000.00"),
        ("+5.5", "5.50"),
        ("-0", "0.00"),
        (".5", "0.50"),
        ("7.", "7.00"),
        ("1.2300", "1.23"),
    ],
)
def test_parse_amount_text_accepts(text, expected):
    assert str(parse_amount_text(text)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must be a number"),
        ("abc", "must be a number"),
        ("NaN", "must be a number"),
        ("Infinity", "must be a number"),
        ("1_000", "must be a number"),
        ("1,5", "must be a number"),
        ("0x10", "must be a number"),
        ("$5", "must be a number"),
        ("-1", "greater than or equal to 0"),
        ("1.234", "2 decimals"),
        ("1e400", "at most"),
        ("1e-400", "2 decimals"),
        (None, "must be a number"),
    ],
)
def test_parse_amount_text_refuses(text, message):
    with pytest.raises(ValueError, match=message):
        parse_amount_text(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", dt.datetime(2024, 3, 1, tzinfo=LIMA)),
        ("2024-03-01T10:30", dt.datetime(2024, 3, 1, 10, 30, tzinfo=LIMA)),
        ("2024-03-01 10:30:00", dt.datetime(2024, 3, 1, 10, 30, tzinfo=LIMA)),
        ("2024-03-01T10:30:00Z", dt.datetime(2024, 3, 1, 10, 30, tzinfo=dt.UTC)),
        ("2024-03-01T10:30:00+02:00", dt.datetime(2024, 3, 1, 8, 30, tzinfo=dt.UTC)),
        ("20240301", dt.datetime(2024, 3, 1, tzinfo=LIMA)),
        (" 2024-03-01 ", dt.datetime(2024, 3, 1, tzinfo=LIMA)),
    ],
)
def test_parse_datetime_iso(text, expected):
    parsed = parse_datetime_iso(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_parse_datetime_iso_uses_the_configured_time_zone(settings):
    settings.TIME_ZONE = "Asia/Tokyo"

    assert parse_datetime_iso("2024-03-01") == dt.datetime(2024, 2, 29, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "text",
    ["", "2024-02-30", "ayer", "2024-03-01T25:00", "2024/03/01", "9999-12-31T23:59:59-05:00"],
)
def test_parse_datetime_iso_refuses(text):
    with pytest.raises(ValueError):
        parse_datetime_iso(text)


def test_parse_user_uuid():
    assert str(parse_user_uuid(" 6F1C0B7E-2B6B-4C31-9C1F-1F0C9A6B2D3E ")) == (
        "6f1c0b7e-2b6b-4c31-9c1f-1f0c9a6b2d3e"
    )
    for bad in ("", "abc", 5, None):
        with pytest.raises(ValueError):
            parse_user_uuid(bad)


def test_parse_history_entry_reports_every_field():
    with pytest.raises(InvalidInput) as exc:
        parse_history_entry({"nit": "", "monto": "x", "fecha": "no", "extra": 1})

    assert set(exc.value.errors) == {"nit", "monto", "fecha", "emc", "extra"}


def test_parse_history_strips_text_and_parses_everything():
    (entry,) = parse_history(
        [{"nit": " 900123456-7 ", "monto": 10, "fecha": "2024-03-01", "emc": " EMC "}]
    )

    assert entry == HistoryEntryData(
        nit="900123456-7",
        amount=Decimal("10.00"),
        date=dt.datetime(2024, 3, 1, tzinfo=LIMA),
        emc="EMC",
    )


def test_history_key_digest_is_about_the_instant_not_the_offset():
    a = data()
    b = HistoryEntryData(nit=a.nit, amount=Decimal(1), date=a.date.astimezone(dt.UTC), emc=a.emc)

    assert history_key_digest(1, a) == history_key_digest(1, b)
    assert history_key_digest(1, a) != history_key_digest(2, a)
    assert history_key_digest(1, a) != history_key_digest(1, data(emc="other"))


# --- writing ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_merge_counts_and_audit():
    user = UserFactory()
    SalesHistoryEntryFactory(
        user=user, nit="900123456-7", emc="A", amount=Decimal("1.00"), date=data().date
    )
    SalesHistoryEntryFactory(
        user=user, nit="900123456-7", emc="B", amount=Decimal("2.00"), date=data().date
    )
    actor = UserFactory()

    counts = sales_history_update(
        user=user,
        entries=[data("A", "1.00"), data("B", "5.00"), data("C", "3.00")],
        actor=actor,
        source=AuditEntry.Source.ADMIN,
    )

    assert counts == {"created": 1, "updated": 1, "deleted": 0, "unchanged": 1}
    assert dict(SalesHistoryEntry.objects.values_list("emc", "amount")) == {
        "A": Decimal("1.00"),
        "B": Decimal("5.00"),
        "C": Decimal("3.00"),
    }
    audit = AuditEntry.objects.get()
    assert (audit.actor, audit.source, audit.field) == (actor, "admin", "history")
    assert [e["emc"] for e in audit.before] == ["B"]
    assert [e["emc"] for e in audit.after] == ["B", "C"]


@pytest.mark.django_db
def test_update_keeps_created_at_and_moves_updated_at():
    user = UserFactory()
    sales_history_update(user=user, entries=[data(amount="1")], actor=None, source="command")
    before = SalesHistoryEntry.objects.get()

    sales_history_update(user=user, entries=[data(amount="2")], actor=None, source="command")

    after = SalesHistoryEntry.objects.get()
    assert after.pk == before.pk
    assert after.created_at == before.created_at
    assert after.updated_at > before.updated_at
    assert after.amount == Decimal("2.00")


@pytest.mark.django_db
def test_replace_deletes_the_rest_in_batches(monkeypatch):
    monkeypatch.setattr(services, "DELETE_BATCH_SIZE", 3)
    user = UserFactory()
    other = SalesHistoryEntryFactory()
    SalesHistoryEntryFactory.create_batch(10, user=user, emc="old")

    counts = sales_history_update(
        user=user, entries=[data("new")], replace=True, actor=None, source="command"
    )

    assert counts == {"created": 1, "updated": 0, "deleted": 10, "unchanged": 0}
    assert list(SalesHistoryEntry.objects.filter(user=user).values_list("emc", flat=True)) == [
        "new"
    ]
    assert SalesHistoryEntry.objects.filter(pk=other.pk).exists()
    assert len(AuditEntry.objects.get().before) == 10


@pytest.mark.django_db
def test_upserts_in_batches(monkeypatch):
    monkeypatch.setattr(history_sql, "UPSERT_BATCH_SIZE", 4)
    user = UserFactory()

    with CaptureQueriesContext(connection) as queries:
        counts = sales_history_update(
            user=user, entries=[data(day=d) for d in range(1, 11)], actor=None, source="command"
        )

    assert counts["created"] == 10
    assert SalesHistoryEntry.objects.filter(user=user).count() == 10
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "sales_saleshistoryentry"')]
    assert len(inserts) == 3  # 4 + 4 + 2


@pytest.mark.django_db
def test_a_large_update_fits_the_databases_parameter_limit():
    """SQLite takes at most 999 parameters per statement: the rows are split to fit."""
    user = UserFactory()
    entries = [data(nit=f"{n:05d}") for n in range(1, 501)]

    counts = sales_history_update(user=user, entries=entries, actor=None, source="command")
    assert counts["created"] == 500
    counts = sales_history_update(
        user=user,
        entries=[HistoryEntryData(e.nit, Decimal("7.10"), e.date, e.emc) for e in entries],
        actor=None,
        source="command",
    )
    assert counts["updated"] == 500
    assert set(SalesHistoryEntry.objects.values_list("amount", flat=True)) == {Decimal("7.10")}


@pytest.mark.django_db
def test_stored_rows_are_what_the_orm_stores():
    """The upsert is raw SQL: its rows must read back exactly like rows the ORM saved."""
    user = UserFactory()
    entry = data(amount="150000.50")
    orm_row = SalesHistoryEntry.objects.create(
        user=user, nit="orm", amount=entry.amount, date=entry.date, emc=entry.emc
    )

    sales_history_update(user=user, entries=[entry], actor=None, source="command")

    stored = SalesHistoryEntry.objects.get(user=user, nit=entry.nit)
    orm_row.refresh_from_db()
    assert stored.date == orm_row.date == entry.date  # the same instant
    assert stored.date.tzinfo is not None
    assert stored.amount == orm_row.amount == Decimal("150000.50")
    assert str(stored.amount) == str(orm_row.amount)
    assert stored.created_at == stored.updated_at
    assert SalesHistoryEntry.objects.filter(date=entry.date).count() == 2  # lookups match


@pytest.mark.django_db
def test_nothing_changed_writes_no_audit_row():
    user = UserFactory()
    sales_history_update(user=user, entries=[data()], actor=None, source="command")

    counts = sales_history_update(
        user=user, entries=[data()], replace=True, actor=None, source="command"
    )

    assert counts == {"created": 0, "updated": 0, "deleted": 0, "unchanged": 1}
    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db
def test_duplicates_are_refused_and_nothing_is_written():
    user = UserFactory()
    same_instant = HistoryEntryData(
        nit=data().nit, amount=Decimal(3), date=data().date.astimezone(dt.UTC), emc=data().emc
    )

    with pytest.raises(InvalidInput):
        sales_history_update(
            user=user, entries=[data(emc="x"), data(), same_instant], actor=None, source="api"
        )

    assert not SalesHistoryEntry.objects.exists()


@pytest.mark.django_db
def test_preview_counts_without_writing():
    user = UserFactory()
    sales_history_update(user=user, entries=[data("A"), data("B")], actor=None, source="command")

    counts = sales_history_preview(user=user, entries=[data("A", "9"), data("C")], replace=True)

    assert counts == {"created": 1, "updated": 1, "deleted": 1, "unchanged": 0}
    assert SalesHistoryEntry.objects.count() == 2
    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_failure_midway_rolls_everything_back(monkeypatch):
    user = UserFactory()
    SalesHistoryEntryFactory(user=user, emc="kept")

    def boom(**kwargs):
        raise RuntimeError("audit failed")

    monkeypatch.setattr(services, "audit_record", boom)
    with pytest.raises(RuntimeError):
        sales_history_update(
            user=user, entries=[data("new")], replace=True, actor=None, source="api"
        )

    assert list(SalesHistoryEntry.objects.values_list("emc", flat=True)) == ["kept"]
