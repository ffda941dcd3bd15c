"""``manage.py seed_demo``: deterministic, idempotent, realistic."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from offices.models import Office
from sales.demo import Sizes, colombia_nit, peru_ruc, split_tax_included
from sales.models import Document, DocumentType, DocumentUse, SalesHistoryEntry
from users.models import User

pytestmark = pytest.mark.django_db

SMALL = {"offices": 4, "users": 40, "sellers": 4, "documents": 600, "history": 150}


def seed(**options) -> str:
    out = StringIO()
    call_command(
        "seed_demo", stdout=out, stderr=StringIO(), no_progress=True, **{**SMALL, **options}
    )
    return out.getvalue()


def snapshot() -> dict:
    """Key columns of every demo row, by natural keys (ids may differ between databases)."""
    return {
        "offices": list(
            Office.objects.order_by("cost_center").values_list(
                "cost_center", "name", "city", "country", "state"
            )
        ),
        "types": list(DocumentType.objects.order_by("code").values_list("name", "code", "use")),
        "users": list(
            User.objects.order_by("username").values_list(
                "username",
                "uuid",
                "first_name",
                "last_name",
                "email",
                "office__cost_center",
                "quota",
                "nit",
                "phone",
                "status",
                "score",
                "payment_data",
                "is_active",
            )
        ),
        "documents": list(
            Document.objects.order_by("document_type__code", "number").values_list(
                "document_type__code",
                "number",
                "emission_date",
                "generation_date",
                "user__username",
                "office__cost_center",
                "net_amount",
                "tax_amount",
                "total_amount",
                "state",
                "reference_document__document_type__code",
                "reference_document__number",
            )
        ),
        "history": list(
            SalesHistoryEntry.objects.order_by("user__username", "date", "nit", "emc").values_list(
                "user__username", "nit", "amount", "date", "emc"
            )
        ),
    }


def wipe() -> None:
    Document.objects.filter(reference_document__isnull=False).delete()
    Document.objects.all().delete()
    SalesHistoryEntry.objects.all().delete()
    User.objects.all().delete()
    Office.objects.all().delete()
    DocumentType.objects.all().delete()


def test_same_seed_gives_the_same_rows():
    seed()
    first = snapshot()
    wipe()
    assert not Document.objects.exists()
    seed()
    second = snapshot()
    assert first == second
    assert len(first["documents"]) == SMALL["documents"]
    assert len(first["users"]) == SMALL["users"]
    assert len(first["history"]) == SMALL["history"]


def test_another_seed_gives_other_rows():
    seed()
    first = snapshot()
    wipe()
    seed(seed=7)
    assert snapshot()["users"] != first["users"]


def test_second_run_adds_nothing():
    seed()
    counts = [m.objects.count() for m in (Office, DocumentType, User, Document, SalesHistoryEntry)]
    before = snapshot()
    output = seed()
    assert [
        m.objects.count() for m in (Office, DocumentType, User, Document, SalesHistoryEntry)
    ] == counts
    assert snapshot() == before
    assert "created 0 offices, 0 document types, 0 users, 0 documents, 0 history entries" in output


def test_a_bigger_run_completes_a_smaller_one():
    seed(documents=300, history=50)
    seed()
    assert Document.objects.count() >= SMALL["documents"]
    assert SalesHistoryEntry.objects.count() >= SMALL["history"]
    # and it is still stable
    counts = Document.objects.count(), SalesHistoryEntry.objects.count()
    seed()
    assert (Document.objects.count(), SalesHistoryEntry.objects.count()) == counts


def test_realistic_shape():
    seed(users=200, sellers=5, documents=2000, history=500)
    today = timezone.localdate()
    types = {t.code: t for t in DocumentType.objects.all()}
    assert {(c, t.name, t.use) for c, t in types.items()} == {
        ("39", "Boleta", DocumentUse.SALE),
        ("33", "Factura", DocumentUse.SALE),
        ("61", "Nota de crédito", DocumentUse.RETURN),
        ("52", "Guía de despacho", DocumentUse.DISPATCH),
    }
    documents = list(Document.objects.select_related("office", "reference_document"))
    # Sellers: only the few who sell issue documents.
    assert len({d.user_id for d in documents}) == 5
    for doc in documents:
        assert today - dt.timedelta(days=364) <= doc.emission_date <= today
        assert doc.total_amount == doc.net_amount + doc.tax_amount
        assert doc.total_amount.as_tuple().exponent == -2
        rate = Decimal(18 if doc.office.country == "Perú" else 19)
        # Tax included in the price, rounded to the cent (whole pesos in Colombia).
        assert abs(doc.net_amount * rate / 100 - doc.tax_amount) <= 1
    credit_notes = [d for d in documents if d.document_type_id == types["61"].id]
    assert 0.02 < len(credit_notes) / len(documents) < 0.09
    for note in credit_notes:
        sale = note.reference_document
        assert sale is not None
        assert sale.document_type_id in (types["39"].id, types["33"].id)
        assert sale.user_id == note.user_id
        assert sale.emission_date <= note.emission_date
        assert note.total_amount <= sale.total_amount
        assert sale.state == 0
    void = sum(d.state == 1 for d in documents)
    assert 0 < void < len(documents) * 0.05
    # Most users are merchants with no document; their history is aware and recent.
    assert User.objects.filter(documents__isnull=True).count() == 195
    history = list(SalesHistoryEntry.objects.all())
    assert all(timezone.is_aware(h.date) and h.amount >= 0 for h in history)
    assert {h.emc for h in history} <= {
        "Postobón",
        "Bavaria",
        "Nutresa",
        "Alpina",
        "Colombina",
        "Quala",
        "Colanta",
        "Familia",
        "Ramo",
        "Team Foods",
        "Backus",
        "Gloria",
        "Alicorp",
        "Arca Continental Lindley",
        "San Fernando",
        "Laive",
        "AJE",
        "Molitalia",
        "Nestlé Perú",
        "Costeño",
    }
    user = User.objects.get(username="demo_user_000001")
    assert not user.has_usable_password()
    assert isinstance(user.quota, Decimal)
    assert user.business_name and user.phone and user.nit and user.payment_data


def test_default_sellers_are_about_one_percent():
    assert Sizes(users=100_000).seller_count == 1_000
    assert Sizes(users=200).seller_count == 20
    assert Sizes(users=5).seller_count == 5
    assert Sizes(users=200, sellers=3).seller_count == 3


def test_check_digits():
    assert split_tax_included(25_500_000, 19) == (21_428_571, 4_071_429)
    assert colombia_nit(890903939) == "890903939-5"  # a well-known NIT's DIAN check digit
    assert peru_ruc("20", 10_000_000)[:10] == "2010000000" and len(peru_ruc("20", 1)) == 11


def test_needs_a_seller_for_documents():
    with pytest.raises(CommandError):
        call_command(
            "seed_demo", users=0, documents=10, history=0, no_progress=True, stdout=StringIO()
        )


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_goes_to_stderr_on_a_terminal_and_summary_to_stdout():
    out, err = StringIO(), Terminal()
    call_command("seed_demo", stdout=out, stderr=err, **SMALL)
    assert "documents" in err.getvalue()
    assert "created" in out.getvalue()


def test_no_progress_bar_when_stderr_is_not_a_terminal():
    out, err = StringIO(), StringIO()  # a pipe, a log file, CI
    call_command("seed_demo", stdout=out, stderr=err, **SMALL)
    assert err.getvalue() == ""
    assert "created" in out.getvalue()
    out, err = StringIO(), StringIO()
    call_command("seed_demo", stdout=out, stderr=err, verbosity=0, **SMALL)
    assert err.getvalue() == "" and out.getvalue() == ""


def test_sizes_out_of_range_are_told_in_words(capsys):
    with pytest.raises(CommandError) as excinfo:
        call_command("seed_demo", "--users", "-5", stdout=StringIO())
    assert "argument --users: must be 0 or more, not -5" in str(excinfo.value)
    assert "_non_negative" not in str(excinfo.value)
    with pytest.raises(CommandError) as excinfo:
        call_command("seed_demo", "--documents", "many", stdout=StringIO())
    assert "argument --documents: 'many' is not a whole number" in str(excinfo.value)


def test_help_shows_every_size_option_with_its_default():
    from django.core.management import load_command_class

    command = load_command_class("sales", "seed_demo")
    text = " ".join(command.create_parser("manage.py", "seed_demo").format_help().split())
    for expected in (
        "--seed SEED random seed (default: 42)",
        "--offices OFFICES offices (default: 10)",
        "--users USERS users (sellers included) (default: 200)",
        "(default: 1% of users, at least 20, or all of them)",
        "documents (default: 250 per seller)",
        "sales history entries (default: 10 per user)",
        "(default: 5000)",
    ):
        assert expected in text
    assert "(default: None)" not in text and "(default: False)" not in text


def test_more_sellers_than_users_is_refused_before_writing():
    with pytest.raises(CommandError, match="--sellers 50 is more than --users 10"):
        call_command("seed_demo", users=10, sellers=50, stdout=StringIO(), no_progress=True)
    assert not User.objects.exists() and not Office.objects.exists()


def test_documents_and_history_scale_with_the_people_asked_for():
    """`--users 10` seeds a small database: 250 documents per seller, 10 entries per user,
    said before it starts (not 5,000 documents from the defaults)."""
    out = StringIO()
    call_command(
        "seed_demo", offices=2, users=10, sellers=2, stdout=out, stderr=StringIO(), no_progress=True
    )
    assert (
        "Seeding (seed 42): 2 offices, 10 users (2 sellers), 500 documents, "
        "100 history entries." in out.getvalue()
    )
    assert Document.objects.count() == 500
    assert SalesHistoryEntry.objects.count() == 100


def test_the_totals_are_left_in_key_order_after_the_load():
    """PostgreSQL: a bulk load over every date scatters each day's totals; seed_demo
    rewrites them in key order (CLUSTER), so a range of days reads few pages."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("CLUSTER is PostgreSQL's")
    seed(batch_size=50)
    with connection.cursor() as cursor:
        cursor.execute("SELECT day, seller_id FROM sales_sellerdailysalestotal ORDER BY ctid")
        rows = cursor.fetchall()
    assert len(rows) > 100
    assert rows == sorted(rows)
