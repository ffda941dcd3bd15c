"""The API's sales summary served again only while exact (sales/summary_cache.py,
sales/summary_changes_sql.py): every committed change to what it reads shows in the next
answer, a change still uncommitted while the summary was computed included.

PostgreSQL only (snapshots); transactional tests: nothing is kept inside a
transaction, and the tests' usual wrapping transaction is one.
"""

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from common.renderers import dumps
from sales import summary_cache
from sales.models import Document, DocumentType
from sales.resources import sales_summary_json
from sales.services import rebuild_sales_totals
from sales.summary_changes_sql import PRUNE_EVERY
from tests.api_helpers import AUTH_QUERIES, get_json, unix
from tests.factories import CreditNoteTypeFactory, DocumentFactory, DocumentTypeFactory, UserFactory
from users.models import User

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

DAY = dt.date(2026, 3, 10)
BASE = "https://api.example.com"


def summary(start=DAY, end=DAY, **kwargs) -> tuple[bytes, int]:
    """The served body's bytes and how many queries it took."""
    with CaptureQueriesContext(connection) as queries:
        payload, _ = sales_summary_json(start=start, end=end, base_url=BASE, **kwargs)
    return dumps(payload), len(queries)


def oracle(start=DAY, end=DAY, **kwargs) -> bytes:
    payload, _ = sales_summary_json(start=start, end=end, base_url=BASE, raw=True, **kwargs)
    return dumps(payload)


def sale(seller, amount: str = "100", day=DAY, doc_type=None) -> Document:
    value = Decimal(amount)
    return DocumentFactory(
        document_type=doc_type or DocumentTypeFactory(),
        user=seller,
        emission_date=day,
        net_amount=value,
        tax_amount=Decimal("0"),
        exempt_amount=Decimal("0"),
        total_amount=value,
    )


@pytest.fixture
def sellers():
    ana, ben = UserFactory(first_name="Ana", last_name="A"), UserFactory(first_name="Ben")
    sale(ana, "100")
    sale(ben, "50.50")
    return ana, ben


def test_served_again_with_one_query_and_the_same_bytes(sellers):
    first, computed = summary()
    again, checked = summary()
    assert again == first == oracle()
    # Computed: the aggregate. Served again: the one check that nothing changed since.
    assert (computed, checked) == (1, 1)
    assert summary_cache.kept()[0] == 1


def test_each_range_seller_and_base_url_is_its_own_entry(sellers):
    ana, _ = sellers
    whole, _ = summary()
    one, _ = summary(user_id=ana.pk)
    other_base, _ = sales_summary_json(start=DAY, end=DAY, base_url="http://other")
    later, _ = summary(end=DAY + dt.timedelta(days=1))
    assert one != whole and b"http://other" in dumps(other_base)
    assert summary()[0] == whole and summary(user_id=ana.pk)[0] == one
    assert later == oracle(end=DAY + dt.timedelta(days=1))


def _savepoint_rolled_back(ana, ben) -> None:
    """A committed write, and in the same transaction one rolled back to a savepoint."""
    with transaction.atomic():
        sale(ana, "2")
        with pytest.raises(RuntimeError), transaction.atomic():
            sale(ben, "999")
            raise RuntimeError


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda ana, ben: sale(ana, "1.25"), id="a new document"),
        pytest.param(
            lambda ana, ben: Document.objects.filter(user=ben).update(state=1), id="voided"
        ),
        pytest.param(lambda ana, ben: Document.objects.filter(user=ana).delete(), id="deleted"),
        pytest.param(
            lambda ana, ben: Document.objects.filter(user=ana).update(user=ben),
            id="another seller",
        ),
        pytest.param(
            lambda ana, ben: Document.objects.filter(user=ana).update(
                emission_date=DAY - dt.timedelta(days=1)
            ),
            id="another day",
        ),
        pytest.param(
            lambda ana, ben: sale(ana, "20", doc_type=CreditNoteTypeFactory()), id="a return"
        ),
        pytest.param(
            lambda ana, ben: User.objects.filter(pk=ben.pk).update(last_name="Renamed"),
            id="a seller renamed",
        ),
        pytest.param(lambda ana, ben: rebuild_sales_totals(), id="totals rebuilt"),
        pytest.param(
            lambda ana, ben: DocumentType.objects.filter(
                pk=Document.objects.filter(user=ana).values("document_type")[:1]
            ).update(use=1),
            id="a type's use changed",
        ),
        pytest.param(lambda ana, ben: _savepoint_rolled_back(ana, ben), id="a savepoint"),
    ],
)
def test_every_committed_change_shows_in_the_next_answer(sellers, change):
    before, _ = summary()
    change(*sellers)
    after, queries = summary()
    assert after == oracle()
    if after == before:  # the rebuild writes the same sums: still recomputed
        assert queries == 2
    assert summary() == (after, 1)


def test_a_write_uncommitted_while_computing_shows_once_committed(sellers):
    """The race the snapshot check exists for: a writer has changed what the summary reads
    but not committed while the summary is computed and kept; after its commit the kept
    summary must not be served."""
    ana, _ = sellers
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("UPDATE users_user SET last_name = 'Held' WHERE id = %s", [ana.pk])
        with connection.cursor() as cursor:
            # A later transaction ends first: the snapshot's xmax is then past the writer's
            # id, which only the snapshot's list of running transactions names.
            cursor.execute("SELECT pg_current_xact_id()")
        during, _ = summary()
        assert summary()[1] == 1  # kept, and still exact: the write is not committed
        other.commit()
    after, queries = summary()
    assert after != during and after == oracle()
    assert queries == 2  # the check found the commit, then the aggregate


def test_not_kept_inside_a_transaction(sellers):
    """A summary computed with the transaction's own writes must not outlive a rollback."""
    ana, _ = sellers
    with transaction.atomic():
        sale(ana, "1000")
        inside, _ = summary()
        assert summary_cache.kept() == (0, 0)
        transaction.set_rollback(True)
    assert summary()[0] != inside
    assert summary()[0] == oracle()


def prune() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sales_summary_prune()")


def test_pruning_leaves_nothing_below_its_horizon(sellers):
    ana, _ = sellers
    sale(ana, "3")
    prune()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT h.horizon > '0'::xid8, count(c.txid) FROM sales_summary_horizon h"
            " LEFT JOIN sales_summary_change c ON c.txid < h.horizon GROUP BY h.horizon"
        )
        assert cursor.fetchone() == (True, 0)


def test_a_write_then_a_pruning_still_shows_in_the_next_answer(sellers):
    """The pruning may remove the write's record: the horizon then rejects the kept
    summary. (Pruning every record without moving the horizon would fail here.)"""
    ana, _ = sellers
    first, _ = summary()
    sale(ana, "3")
    prune()
    after, queries = summary()
    assert after != first and (after, queries) == (oracle(), 2)


def test_a_kept_summary_older_than_the_horizon_is_computed_again(sellers):
    """The changes it would need may be pruned: it is not trusted any more."""
    first, _ = summary()
    with connection.cursor() as cursor:  # as a pruning past every change would leave it
        cursor.execute("DELETE FROM sales_summary_change")
        cursor.execute(
            "UPDATE sales_summary_horizon SET horizon = pg_snapshot_xmax(pg_current_snapshot())"
        )
    assert summary() == (first, 2)


def test_a_summary_kept_from_another_server_is_computed_again(sellers):
    """Transaction ids compare only within one run of one cluster: after a restore, a
    failover or a restart, a kept summary is not trusted."""
    first, _ = summary()
    ((key, (kept, value, size)),) = summary_cache._entries.items()
    snapshot, server = kept.split("|")
    assert server  # the postmaster's start and the database's oid
    summary_cache._entries[key] = (f"{snapshot}|2001-01-01 00:00:00+00 1", value, size)
    assert summary() == (first, 2)
    assert summary() == (first, 1)


def _burn_ids_to_a_multiple(cursor) -> None:
    """Take transaction ids until the next one is a multiple of PRUNE_EVERY."""
    cursor.execute("SELECT pg_current_xact_id()::text::bigint")
    for _ in range(-(cursor.fetchone()[0] + 1) % PRUNE_EVERY):
        cursor.execute("SELECT pg_current_xact_id()")


RENAME = "UPDATE sales_sellername SET first_name = first_name WHERE seller_id = %s"


def test_about_one_writer_in_prune_every_prunes(sellers):
    """A writer whose transaction id is a multiple of PRUNE_EVERY prunes: the changes every
    snapshot has seen go (without it they pile up, one per writing transaction)."""
    ana, _ = sellers
    with connection.cursor() as cursor:
        for _ in range(20):  # each statement its own transaction; again if others interleave
            _burn_ids_to_a_multiple(cursor)
            cursor.execute(RENAME + " RETURNING pg_current_xact_id()::text::bigint", [ana.pk])
            if cursor.fetchone()[0] % PRUNE_EVERY == 0:
                break
        else:
            pytest.fail("no writer landed on a multiple of PRUNE_EVERY")
        cursor.execute(RENAME, [ana.pk])
        cursor.execute(
            "SELECT count(*) FROM sales_summary_change"
            " WHERE txid < pg_snapshot_xmin(pg_current_snapshot())"
        )
        # Left: the pruner's own record and the one write after it (at most).
        assert cursor.fetchone()[0] <= 2


def test_a_repeatable_read_writer_never_fails_on_the_pruning(sellers):
    """Its snapshot predates a pruning that removed records: pruning again in it would fail
    its write (could not serialize access due to concurrent delete); it leaves the pruning
    to others."""
    ana, _ = sellers
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        other.execute("SELECT 1")  # its snapshot, taken now
        sale(ana, "4")  # a record, then a pruning that removes it
        prune()
        with connection.cursor() as cursor:
            _burn_ids_to_a_multiple(cursor)
        (writer,) = other.execute(
            RENAME + " RETURNING pg_current_xact_id()::text::bigint", [ana.pk]
        ).fetchone()
        other.commit()
    if writer % PRUNE_EVERY:
        pytest.skip("another session took the transaction id meant for the writer")


def test_not_kept_without_autocommit(sellers):
    """``set_autocommit(False)`` is a transaction too: its own writes may be rolled back."""
    ana, _ = sellers
    connection.set_autocommit(False)
    try:
        sale(ana, "1000")
        summary()
        assert summary_cache.kept() == (0, 0)
        connection.rollback()
    finally:
        connection.set_autocommit(True)
    assert summary()[0] == oracle()


def test_off_when_the_setting_is_zero(sellers, settings):
    settings.SALES_SUMMARY_CACHE_MB = 0
    assert summary()[1] == 1
    assert summary()[1] == 1
    assert summary_cache.kept() == (0, 0)


def test_memory_is_bounded_least_recently_used_first(sellers, settings):
    """Countless ranges may be asked for: beyond the limit the least recently used go."""
    settings.SALES_SUMMARY_CACHE_MB = 1
    first, _ = summary()
    size = summary_cache.kept()[1]
    fits = 2**20 // size
    for days in range(1, fits + 5):
        summary(end=DAY + dt.timedelta(days=days))
        summary()  # recently used: kept
    count, kept = summary_cache.kept()
    assert kept <= 2**20 and count <= fits
    assert summary() == (first, 1)
    assert summary_cache.key(DAY, DAY, None, BASE) in summary_cache._entries
    oldest = summary_cache.key(DAY, DAY + dt.timedelta(days=1), None, BASE)
    assert oldest not in summary_cache._entries


def test_the_api_serves_it_again_with_one_query(auth_client, sellers):
    params = {"startdate": unix(DAY), "enddate": unix(DAY)}
    first = get_json(auth_client, "/v1/users/sales_summary.json", params)
    # auth + the check that nothing changed since it was computed.
    with CaptureQueriesContext(connection) as queries:
        again = get_json(auth_client, "/v1/users/sales_summary.json", params)
    assert again == first and len(queries) == AUTH_QUERIES + 1
    sale(sellers[0], "5")
    assert get_json(auth_client, "/v1/users/sales_summary.json", params)["total"] == 155.5
