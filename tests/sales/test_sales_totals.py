"""The sales totals the database triggers keep (sales/totals_sql.py): equal to the
documents after writes through every door, and every summary read from them equal, byte
for byte, to the raw aggregate over the documents (``raw_sales_summary``, the oracle)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from decimal import Decimal

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales.models import (
    Document,
    DocumentType,
    SalesDailyTotal,
    SalesMonthlyTotal,
    SellerDailySalesTotal,
    SellerMonthlySalesTotal,
    SellerName,
)
from sales.resources import sales_summary_json
from sales.selectors import raw_sales_summary, sales_summary, sales_totals_differences
from sales.summary_sql import TotalsPart, totals_parts
from tests.admin_helpers import admin_url, form_data
from tests.factories import (
    CreditNoteTypeFactory,
    DocumentFactory,
    DocumentTypeFactory,
    OfficeFactory,
    UserFactory,
)
from users.models import User

pytestmark = pytest.mark.django_db
BASE = "http://testserver"
FIRST_DAY = dt.date(2015, 11, 20)
DAYS = 110  # across four month boundaries (Nov, Dec, Jan, Feb, Mar)
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def world(db):
    """Three sellers (one without an office), two offices, a sale, a second sale type, a
    return and a dispatch type (use 2: never counted)."""
    offices = [OfficeFactory(), OfficeFactory()]
    sellers = [
        UserFactory(first_name="Ana", last_name="Ríos", office=offices[0]),
        UserFactory(first_name="Bruno", last_name="Díaz", office=offices[1]),
        UserFactory(first_name="carla", last_name="", office=None),
    ]
    types = [
        DocumentTypeFactory(name="Boleta"),
        DocumentTypeFactory(name="Factura", code="33"),
        CreditNoteTypeFactory(),
        DocumentTypeFactory(name="Guía", code="52", use=2),
    ]
    return {"offices": offices, "sellers": sellers, "types": types}


def assert_totals_exact() -> None:
    assert sales_totals_differences() == []


def assert_summaries_equal(start, end, user_id=None, office_id=None) -> None:
    ours = sales_summary(start=start, end=end, user_id=user_id, office_id=office_id)
    raw = raw_sales_summary(start=start, end=end, user_id=user_id, office_id=office_id)
    assert ours == raw
    # Decimal equality ignores the exponent: the shown text must match too.
    assert [tuple(map(str, s)) for s in ours.sellers] == [tuple(map(str, s)) for s in raw.sellers]
    if office_id is None:
        mine, n = sales_summary_json(start=start, end=end, base_url=BASE, user_id=user_id)
        oracle, m = sales_summary_json(
            start=start, end=end, base_url=BASE, user_id=user_id, raw=True
        )
        assert n == m
        assert orjson.dumps(mine) == orjson.dumps(oracle)


# --- Strategies ---------------------------------------------------------------------------------

DAY = st.integers(min_value=0, max_value=DAYS - 1).map(lambda n: FIRST_DAY + dt.timedelta(n))
CENTS = st.one_of(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from([0, 1, 5, 10, 99, 12_345_678_901_2]),
)
AMOUNT = CENTS.map(lambda c: Decimal(c).scaleb(-2))
PICK = st.integers(min_value=0, max_value=1_000)
OPERATION = st.one_of(
    st.tuples(st.just("create"), PICK, PICK, PICK, DAY, AMOUNT, AMOUNT, st.booleans()),
    st.tuples(
        st.just("bulk_create"), st.lists(st.tuples(PICK, PICK, PICK, DAY, AMOUNT), max_size=6)
    ),
    st.tuples(
        st.just("save"),
        PICK,
        st.sampled_from(["user", "office", "date", "type", "state", "amount", "number"]),
        PICK,
        DAY,
        AMOUNT,
    ),
    st.tuples(st.just("delete"), PICK),
    st.tuples(
        st.just("queryset_update"),
        DAY,
        DAY,
        st.sampled_from(["state", "date", "amount", "office", "user"]),
        PICK,
        DAY,
    ),
    st.tuples(st.just("queryset_delete"), DAY),
    st.tuples(st.just("raw_sql"), PICK, AMOUNT, DAY),
    # The summary shows the sellers' names kept beside the totals (sales/seller_names_sql.py).
    st.tuples(
        st.just("rename"),
        PICK,
        st.sampled_from(["save", "queryset_update", "raw_sql"]),
        st.sampled_from(["Zoë", "", " Ana ", "Émile", "bruno"]),
        st.sampled_from(["Ríos", "", "O'Neil", "díaz"]),
    ),
)


class Writer:
    """Applies one random operation through one write path."""

    def __init__(self, world):
        self.world = world

    def pick(self, items, n):
        return items[n % len(items)]

    def doc(self, n) -> Document | None:
        ids = list(Document.objects.order_by("id").values_list("id", flat=True))
        return Document.objects.get(pk=self.pick(ids, n)) if ids else None

    def next_number(self) -> int:
        return next(NUMBERS)  # unique across hypothesis' examples, which share the database

    def new(self, seller, office, dtype, day, amount, void=False) -> Document:
        w = self.world
        return Document(
            document_type=self.pick(w["types"], dtype),
            number=self.next_number(),
            emission_date=day,
            office=self.pick([*w["offices"], None], office),
            user=self.pick([*w["sellers"], None], seller),
            net_amount=amount,
            tax_amount=(amount / 5).quantize(Decimal("0.01")),
            exempt_amount=Decimal("0.00"),
            total_amount=amount + (amount / 5).quantize(Decimal("0.01")),
            state=1 if void else 0,
        )

    def apply(self, op) -> None:
        kind, *args = op
        getattr(self, kind)(*args)

    def create(self, seller, office, dtype, day, amount, _tax, void):
        self.new(seller, office, dtype, day, amount, void).save()

    def bulk_create(self, rows):
        Document.objects.bulk_create([self.new(*row) for row in rows])

    def save(self, n, what, value, day, amount):
        doc = self.doc(n)
        if doc is None:
            return
        w = self.world
        if what == "user":
            doc.user = self.pick([*w["sellers"], None], value)
        elif what == "office":
            doc.office = self.pick([*w["offices"], None], value)
        elif what == "date":
            doc.emission_date = day
        elif what == "type":
            doc.document_type = self.pick(w["types"], value)
        elif what == "state":
            doc.state = 1 - doc.state
        elif what == "amount":
            doc.total_amount, doc.tax_amount = amount, amount
        else:
            doc.number = self.next_number()
        doc.save()

    def delete(self, n):
        doc = self.doc(n)
        if doc is not None:
            doc.delete()

    def queryset_update(self, first, last, what, value, day):
        w = self.world
        rows = Document.objects.filter(emission_date__range=sorted((first, last)))
        change = {
            "state": {"state": value % 2},
            "date": {"emission_date": day},
            "amount": {"net_amount": Decimal(value).scaleb(-2)},
            "office": {"office": self.pick([*w["offices"], None], value)},
            "user": {"user": self.pick([*w["sellers"], None], value)},
        }[what]
        rows.update(**change)

    def queryset_delete(self, day):
        Document.objects.filter(emission_date=day).delete()

    def raw_sql(self, n, amount, day):
        doc = self.doc(n)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO sales_document (document_type_id, number, emission_date,"
                " generation_date, office_id, user_id, net_amount, tax_amount, exempt_amount,"
                " total_amount, state) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0)",
                [
                    self.world["types"][0].pk,
                    self.next_number(),
                    day,
                    dt.datetime(2015, 8, 3, tzinfo=dt.UTC),
                    self.world["offices"][0].pk,
                    self.world["sellers"][n % 3].pk,
                    amount,
                    Decimal("0.00"),
                    Decimal("0.00"),
                    amount,
                ],
            )
            if doc is not None:
                cursor.execute(
                    "UPDATE sales_document SET total_amount = %s, emission_date = %s WHERE id = %s",
                    [amount, day, doc.pk],
                )

    def rename(self, n, door, first, last):
        seller = self.pick(self.world["sellers"], n)
        if door == "save":
            seller.first_name, seller.last_name = first, last
            seller.save()
        elif door == "queryset_update":
            User.objects.filter(pk=seller.pk).update(first_name=first, last_name=last)
        else:
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE users_user SET first_name = %s, last_name = %s WHERE id = %s",
                    [first, last, seller.pk],
                )


NUMBERS = itertools.count(10_000)
RANGE = st.tuples(DAY, DAY).map(sorted)


@PROPERTY
@given(
    operations=st.lists(OPERATION, min_size=1, max_size=8),
    ranges=st.lists(RANGE, min_size=1, max_size=3),
    seller=PICK,
    office=PICK,
)
def test_random_writes_keep_the_totals_exact(world, operations, ranges, seller, office):
    """Writes through the ORM (save, bulk_create, QuerySet.update and delete) and raw SQL,
    and sellers renamed through each: the totals equal the documents after each batch, and
    so does every summary, names included."""
    writer = Writer(world)
    for op in operations:
        writer.apply(op)
    assert_totals_exact()
    seller_id = world["sellers"][seller % 3].pk
    office_id = world["offices"][office % 2].pk
    for start, end in ranges:
        assert_summaries_equal(start, end)
        assert_summaries_equal(start, end, user_id=seller_id)
        assert_summaries_equal(start, end, office_id=office_id)


@pytest.mark.parametrize(
    ("subtotal", "today"),
    # A "today" inside the data: documents dated after it, which the choice of slices
    # counts as none, are still summed.
    [("total", None), ("net", None), ("total", dt.date(2015, 12, 20))],
)
def test_summaries_equal_the_raw_aggregate_over_random_ranges(
    world, settings, monkeypatch, subtotal, today
):
    """Ranges cut inside months, whole months, across years, empty, one day; all sellers,
    one seller, one office; total or net subtotals."""
    import random

    settings.SALES_SUMMARY_SUBTOTAL = subtotal
    if today is not None:
        monkeypatch.setattr("sales.summary_sql.timezone.localdate", lambda: today)
    rng = random.Random(7)
    writer = Writer(world)
    for _ in range(300):
        writer.new(
            rng.randrange(4),
            rng.randrange(3),
            rng.randrange(4),
            FIRST_DAY + dt.timedelta(rng.randrange(DAYS)),
            Decimal(rng.randrange(10**7)).scaleb(-2),
            rng.random() < 0.1,
        ).save()
    ranges = [
        (dt.date(2015, 12, 1), dt.date(2015, 12, 31)),  # one whole month
        (dt.date(2015, 12, 1), dt.date(2016, 2, 29)),  # whole months
        (dt.date(2015, 11, 25), dt.date(2016, 1, 5)),  # cut at both ends
        (dt.date(2015, 12, 5), dt.date(2015, 12, 20)),  # inside one month
        (dt.date(2015, 12, 31), dt.date(2016, 1, 1)),  # across the year
        (dt.date(2016, 1, 10), dt.date(2016, 1, 9)),  # empty
        (dt.date(1, 1, 1), dt.date(9999, 12, 31)),  # everything
    ]
    for _ in range(20):
        a, b = sorted(FIRST_DAY + dt.timedelta(rng.randrange(-5, DAYS + 5)) for _ in range(2))
        ranges.append((a, b))
    for start, end in ranges:
        assert_summaries_equal(start, end)
        for seller in world["sellers"]:
            assert_summaries_equal(start, end, user_id=seller.pk)
        for office in world["offices"]:
            assert_summaries_equal(start, end, office_id=office.pk)


def test_admin_add_edit_void_and_delete_keep_the_totals(world, staff_client):
    """The admin's own HTTP forms: add a document, move it (seller, office, date, type),
    void it, delete it; the totals follow each step."""
    seller, other = world["sellers"][:2]
    url = admin_url(Document, "add")
    data = form_data(staff_client.get(url), "document_form")
    data.update(
        document_type=world["types"][0].pk,
        number="777",
        emission_date="2015-12-03",
        generation_date_0="2015-12-03",
        generation_date_1="10:00:00",
        office=world["offices"][0].pk,
        user=seller.pk,
        net_amount="100.00",
        tax_amount="19.00",
        exempt_amount="0.00",
        total_amount="119.00",
        state="0",
        _save="Save",
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    document = Document.objects.get(number=777)
    daily = SalesDailyTotal.objects.get()
    assert (daily.seller_id, daily.day, daily.total_cents, daily.documents) == (
        seller.pk,
        dt.date(2015, 12, 3),
        11900,
        1,
    )
    assert_totals_exact()

    change = admin_url(Document, "change", document.pk)
    for edit in (
        {"user": other.pk},
        {"office": world["offices"][1].pk},
        {"emission_date": "2016-01-04"},
        {"document_type": world["types"][2].pk},
        {"total_amount": "50.05"},
        {"state": "1"},
    ):
        data = form_data(staff_client.get(change), "document_form")
        data.update(edit, _save="Save")
        response = staff_client.post(change, data)
        assert response.status_code == 302, response.context and response.context["errors"]
        assert_totals_exact()
    assert not SalesDailyTotal.objects.exists()  # void: counted nowhere, no row left
    Document.objects.filter(pk=document.pk).update(state=0)
    assert SalesMonthlyTotal.objects.get().month == dt.date(2016, 1, 1)

    response = staff_client.post(admin_url(Document, "delete", document.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not SalesDailyTotal.objects.exists()
    assert not SalesMonthlyTotal.objects.exists()


def test_a_document_write_costs_no_extra_statement(world):
    """The triggers run inside the database: an insert, an update and a delete are one
    statement each, as without totals."""
    with CaptureQueriesContext(connection) as ctx:
        document = Writer(world).new(0, 0, 0, FIRST_DAY, Decimal("10.00"))
        document.save(force_insert=True)
    assert len(ctx.captured_queries) == 1
    with CaptureQueriesContext(connection) as ctx:
        Document.objects.filter(pk=document.pk).update(total_amount=Decimal("12.00"))
        Document.objects.filter(pk=document.pk).delete()
    # The update, then the delete's SELECT of what refers to it and the DELETE itself.
    assert not any("total" in q["sql"] and "sales_sales" in q["sql"] for q in ctx.captured_queries)
    assert_totals_exact()


def test_zero_amount_document_still_lists_its_seller(world):
    """A counted document of 0.00 keeps its seller in the summary (as the raw path)."""
    DocumentFactory(
        document_type=world["types"][0],
        user=world["sellers"][0],
        total_amount=Decimal("0.00"),
        net_amount=Decimal("0.00"),
        tax_amount=Decimal("0.00"),
    )
    day = dt.date(2015, 8, 3)
    assert [s.user_id for s in sales_summary(start=day, end=day).sellers] == [
        world["sellers"][0].pk
    ]
    assert_summaries_equal(day, day)


# --- Commands -------------------------------------------------------------------------------------


def test_check_reports_the_differing_sellers_and_days_then_rebuild_repairs(world):
    seller = world["sellers"][0]
    DocumentFactory(document_type=world["types"][0], user=seller, emission_date=FIRST_DAY)
    out = io.StringIO()
    call_command("check_sales_totals", stdout=out)
    assert "agree" in out.getvalue()

    SalesDailyTotal.objects.update(total_cents=1)  # what a bypass of the triggers would do
    SalesMonthlyTotal.objects.all().delete()
    with pytest.raises(CommandError) as raised:
        call_command("check_sales_totals")
    assert raised.value.returncode == 1
    message = str(raised.value)
    assert f"seller {seller.pk}" in message
    assert "day 2015-11-20" in message
    assert "month 2015-11-01" in message

    out, err = io.StringIO(), io.StringIO()
    call_command("rebuild_sales_totals", stdout=out, stderr=err)
    assert "rebuilt: 1 daily rows" in out.getvalue()
    assert err.getvalue() == ""  # no progress bar off a terminal
    call_command("check_sales_totals", stdout=io.StringIO())
    assert_summaries_equal(FIRST_DAY, FIRST_DAY)


@pytest.mark.parametrize("new_use", [1, 2, 0])
def test_a_document_types_new_use_re_sums_its_sellers(world, new_use):
    """The sellers' tables split sales from returns by the type's use: a type whose use
    changes (through the ORM or raw SQL alike) moves its documents to the other side."""
    sale, other_sale, credit_note, dispatch = world["types"]
    for seller, dtype, day in itertools.product(
        world["sellers"][:2], (sale, other_sale, credit_note, dispatch), (0, 40)
    ):
        DocumentFactory(
            document_type=dtype, user=seller, emission_date=FIRST_DAY + dt.timedelta(days=day)
        )
    changed = {0: dispatch, 1: sale, 2: credit_note}[new_use]
    DocumentType.objects.filter(pk=changed.pk).update(use=new_use)
    assert_totals_exact()
    assert_summaries_equal(FIRST_DAY, FIRST_DAY + dt.timedelta(days=DAYS))
    assert_summaries_equal(FIRST_DAY + dt.timedelta(days=3), FIRST_DAY + dt.timedelta(days=45))

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sales_documenttype SET use = %s WHERE id = %s", [(new_use + 1) % 3, sale.pk]
        )
    assert_totals_exact()
    assert_summaries_equal(FIRST_DAY, FIRST_DAY + dt.timedelta(days=DAYS))


def assert_check_lists_then_rebuild_repairs(*expected: str) -> None:
    """``check_sales_totals`` exits 1 naming each of ``expected``; a rebuild repairs it."""
    with pytest.raises(CommandError) as raised:
        call_command("check_sales_totals")
    assert raised.value.returncode == 1
    for text in expected:
        assert text in str(raised.value)
    call_command("rebuild_sales_totals", stdout=io.StringIO())
    call_command("check_sales_totals", stdout=io.StringIO())


def test_check_reports_a_sellers_row_that_differs(world):
    seller = world["sellers"][1]
    DocumentFactory(document_type=world["types"][0], user=seller, emission_date=FIRST_DAY)
    SellerMonthlySalesTotal.objects.update(sales_total_cents=7)
    SellerDailySalesTotal.objects.all().delete()
    assert_check_lists_then_rebuild_repairs(
        f"seller day {FIRST_DAY}: seller {seller.pk}",
        f"seller month 2015-11-01: seller {seller.pk}",
    )
    assert SellerDailySalesTotal.objects.get().sales_total_cents > 0


def test_check_reports_a_sellers_name_that_differs_then_rebuild_repairs(world):
    ana, bruno, _ = world["sellers"]
    for seller in (ana, bruno):
        DocumentFactory(document_type=world["types"][0], user=seller, emission_date=FIRST_DAY)
    SellerName.objects.filter(pk=ana.pk).update(last_name="Old")  # a bypass of the triggers
    SellerName.objects.filter(pk=bruno.pk).delete()
    assert_check_lists_then_rebuild_repairs(
        f"seller name: seller {ana.pk}", f"seller name: seller {bruno.pk}"
    )
    assert SellerName.objects.get(pk=ana.pk).last_name == "Ríos"


def test_a_sellers_name_row_follows_the_user(world):
    """Added with the seller's first document (or when a document moves to them), renamed
    with the user, gone with the user; a user who never sold has none."""
    ana = world["sellers"][0]
    newcomer = UserFactory(first_name="Nuevo", last_name="Vendedor")
    assert not SellerName.objects.filter(pk__in=[ana.pk, newcomer.pk]).exists()
    doc = DocumentFactory(document_type=world["types"][3], user=ana, emission_date=FIRST_DAY)
    assert SellerName.objects.get(pk=ana.pk).first_name == "Ana"  # any document's seller
    Document.objects.filter(pk=doc.pk).update(user=newcomer)
    assert str(SellerName.objects.get(pk=newcomer.pk)) == "Nuevo Vendedor"
    newcomer.last_name = "Renombrado"
    newcomer.save()
    assert SellerName.objects.get(pk=newcomer.pk).last_name == "Renombrado"
    doc.delete()
    newcomer.delete()
    assert not SellerName.objects.filter(pk=newcomer.pk).exists()
    assert SellerName.objects.filter(pk=ana.pk).exists()  # kept: never joined without totals
    assert_totals_exact()


def test_rebuild_names_every_seller_of_a_document_so_a_new_use_lists_them(world):
    """A seller with dispatch documents only is in no total, but a type's new use can put
    them in: the rebuild (and the migration, which runs it) writes their name too."""
    dispatch, carla = world["types"][3], world["sellers"][2]
    DocumentFactory(document_type=dispatch, user=carla, emission_date=FIRST_DAY)
    call_command("rebuild_sales_totals", stdout=io.StringIO())
    assert SellerName.objects.filter(pk=carla.pk).exists()
    DocumentType.objects.filter(pk=dispatch.pk).update(use=0)
    assert_totals_exact()
    assert [s.user_id for s in sales_summary(start=FIRST_DAY, end=FIRST_DAY).sellers] == [carla.pk]
    assert_summaries_equal(FIRST_DAY, FIRST_DAY)


@pytest.mark.django_db(transaction=True)
def test_a_seller_inserted_after_their_documents_gets_a_name_row(world):
    """Foreign keys are checked at commit: a fixture may load documents before the user
    they name. The user's insert then copies the name."""
    future_id = User.objects.order_by("-pk").values_list("pk", flat=True).first() + 100
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sales_document (document_type_id, number, emission_date,"
            " generation_date, office_id, user_id, net_amount, tax_amount, exempt_amount,"
            " total_amount, state) VALUES (%s, 1, %s, %s, NULL, %s, 10, 0, 0, 10, 0)",
            [world["types"][0].pk, FIRST_DAY, dt.datetime(2015, 8, 3, tzinfo=dt.UTC), future_id],
        )
        UserFactory(id=future_id, first_name="Llegó", last_name="Después", office=None)
    assert str(SellerName.objects.get(pk=future_id)) == "Llegó Después"
    assert_totals_exact()
    assert_summaries_equal(FIRST_DAY, FIRST_DAY)


def test_rebuild_of_no_documents_empties_the_totals(db):
    SalesDailyTotal.objects.create(
        day=FIRST_DAY, seller_id=1, office_id=0, document_type_id=1, documents=1
    )
    call_command("rebuild_sales_totals", stdout=io.StringIO())
    assert not SalesDailyTotal.objects.exists()
    call_command("check_sales_totals", stdout=io.StringIO())


def test_check_lists_a_row_the_documents_do_not_have(db):
    SalesMonthlyTotal.objects.create(
        month=dt.date(2015, 8, 1), seller_id=5, office_id=0, document_type_id=1, documents=1
    )
    with pytest.raises(CommandError, match=r"seller 5, office -"):
        call_command("check_sales_totals")


# --- totals_parts ------------------------------------------------------------------------------


def _part(table, first, last, sign=1):
    return TotalsPart(table, dt.date.fromisoformat(first), dt.date.fromisoformat(last), sign)


@pytest.mark.parametrize(
    ("start", "end", "parts"),
    [
        ("2026-01-01", "2026-01-31", [("month", "2026-01-01", "2026-01-01")]),
        (
            "2026-01-02",
            "2026-01-31",
            [("month", "2026-01-01", "2026-01-01"), ("day", "2026-01-01", "2026-01-01", -1)],
        ),
        ("2026-01-10", "2026-01-20", [("day", "2026-01-10", "2026-01-20")]),
        (  # a year ending today: 12 months, one taken day and one added day
            "2025-12-02",
            "2026-12-01",
            [
                ("month", "2025-12-01", "2026-11-01"),
                ("day", "2025-12-01", "2025-12-01", -1),
                ("day", "2026-12-01", "2026-12-01"),
            ],
        ),
        (
            "2026-01-15",
            "2026-02-10",
            [
                ("month", "2026-01-01", "2026-01-01"),
                ("day", "2026-01-01", "2026-01-14", -1),
                ("day", "2026-02-01", "2026-02-10"),
            ],
        ),
        ("2024-02-01", "2024-02-29", [("month", "2024-02-01", "2024-02-01")]),
        ("0001-01-01", "9999-12-31", [("month", "0001-01-01", "9999-12-01")]),
        ("0001-01-05", "0001-01-14", [("day", "0001-01-05", "0001-01-14")]),
        (  # 16 days in, 15 out: the month minus both ends
            "0001-01-05",
            "0001-01-20",
            [
                ("month", "0001-01-01", "0001-01-01"),
                ("day", "0001-01-01", "0001-01-04", -1),
                ("day", "0001-01-21", "0001-01-31", -1),
            ],
        ),
        (
            "9999-12-02",
            "9999-12-31",
            [("month", "9999-12-01", "9999-12-01"), ("day", "9999-12-01", "9999-12-01", -1)],
        ),
        ("2026-03-10", "2026-03-01", []),
    ],
)
def test_totals_parts(start, end, parts):
    d = dt.date.fromisoformat
    assert totals_parts(d(start), d(end)) == [_part(*p) for p in parts]


@pytest.mark.parametrize(
    ("start", "end", "today", "parts"),
    [
        (  # 31 days ending today: the month so far is its monthly row (the rest: no rows)
            "2026-11-07",
            "2026-12-07",
            "2026-12-07",
            [
                ("month", "2026-11-01", "2026-12-01"),
                ("day", "2026-11-01", "2026-11-06", -1),
                ("day", "2026-12-08", "2026-12-31", -1),
            ],
        ),
        (  # days counted up to today only: 3 in, 4 out
            "2026-12-05",
            "2026-12-20",
            "2026-12-07",
            [("day", "2026-12-05", "2026-12-20")],
        ),
        ("2027-01-05", "2027-01-09", "2026-12-07", [("day", "2027-01-05", "2027-01-09")]),
    ],
)
def test_totals_parts_until_today(start, end, today, parts):
    d = dt.date.fromisoformat
    assert totals_parts(d(start), d(end), today=d(today)) == [_part(*p) for p in parts]


def test_bulk_upsert_as_the_mirror_writes(world):
    """``INSERT ... ON CONFLICT DO UPDATE`` (the Bsale mirror's bulk statements): new rows
    and updated rows both reach the totals, in one statement."""
    sale, seller = world["types"][0], world["sellers"][0]
    DocumentFactory(document_type=sale, number=1, user=seller, office=None, emission_date=FIRST_DAY)
    sql = (
        "INSERT INTO sales_document (document_type_id, number, emission_date, generation_date,"
        " office_id, user_id, net_amount, tax_amount, exempt_amount, total_amount, state)"
        " VALUES (%s, %s, %s, %s, NULL, %s, 1, 0, 0, %s, 0), (%s, %s, %s, %s, NULL, %s, 1, 0, 0, %s, 0)"
        " ON CONFLICT (document_type_id, number) DO UPDATE SET"
        " total_amount = EXCLUDED.total_amount, emission_date = EXCLUDED.emission_date"
    )
    when = dt.datetime(2015, 11, 20, tzinfo=dt.UTC)
    day = FIRST_DAY + dt.timedelta(days=40)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [sale.pk, 1, day, when, seller.pk, "7.77", sale.pk, 2, day, when, seller.pk, "1.00"],
        )
    assert_totals_exact()
    assert SalesDailyTotal.objects.get().total_cents == 877
    assert SalesDailyTotal.objects.get().documents == 2
    assert_summaries_equal(FIRST_DAY, day)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL storage parameters")
def test_totals_tables_leave_room_for_in_place_updates(db):
    from sales import totals_sql

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)",
            [list(totals_sql.KEYS)],
        )
        options = dict(cursor.fetchall())
    assert options == {table: [f"fillfactor={totals_sql.FILLFACTOR}"] for table in totals_sql.KEYS}
