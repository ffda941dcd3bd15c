"""Concurrent history updates for one user are serialized (row lock): nothing is lost.

PostgreSQL only: SQLite serializes every writer anyway and an in-memory test database
cannot be shared between threads.
"""

import datetime as dt
import threading
from decimal import Decimal

import pytest
import requests
from django.db import connection

from sales.models import SalesHistoryEntry
from sales.services import HistoryEntryData, sales_history_update
from tests.conftest import grant, token_for
from tests.factories import UserFactory
from users.models import AuditEntry, User

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

THREADS = 20
PER_THREAD = 25
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def run_in_threads(target) -> list[BaseException]:
    """Run ``target(i)`` in THREADS threads released together; each closes its connection."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            target(i)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def test_concurrent_service_calls_for_one_user_lose_nothing():
    user_pk = UserFactory(office=None).pk

    def update(i: int) -> None:
        entries = [
            HistoryEntryData(
                nit=f"900{i:03d}",
                amount=Decimal(j),
                date=START + dt.timedelta(minutes=j),
                emc="Postobón",
            )
            for j in range(PER_THREAD)
        ]
        user = User.objects.get(pk=user_pk)
        counts = sales_history_update(user=user, entries=entries, actor=None, source="command")
        assert counts["created"] == PER_THREAD

    assert run_in_threads(update) == []
    assert SalesHistoryEntry.objects.filter(user_id=user_pk).count() == THREADS * PER_THREAD
    assert AuditEntry.objects.filter(user_id=user_pk).count() == THREADS


def test_concurrent_requests_for_one_user_through_a_live_server_lose_nothing(live_server):
    merchant = UserFactory(office=None)
    integrator = UserFactory(office=None)
    grant(integrator, "users.change_sales_history", "users.view_user")
    token = token_for(integrator)
    url = f"{live_server.url}/update-user-sales-history"
    statuses: list[int] = []

    def post(i: int) -> None:
        history = [
            {
                "nit": "900123456-7",
                "monto": j + 0.5,
                "fecha": (START + dt.timedelta(days=i, minutes=j)).isoformat(),
                "emc": f"EMC {i}",
            }
            for j in range(PER_THREAD)
        ]
        response = requests.post(
            url,
            json={"user_id": str(merchant.uuid), "history": history},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        statuses.append(response.status_code)

    assert run_in_threads(post) == []
    assert statuses == [200] * THREADS
    assert SalesHistoryEntry.objects.filter(user=merchant).count() == THREADS * PER_THREAD
    assert AuditEntry.objects.filter(user=merchant).count() == THREADS


def test_concurrent_merges_of_the_same_entries_leave_one_row_each():
    user_pk = UserFactory(office=None).pk

    def update(i: int) -> None:
        entries = [
            HistoryEntryData(
                nit="900", amount=Decimal(i), date=START + dt.timedelta(minutes=j), emc="X"
            )
            for j in range(PER_THREAD)
        ]
        sales_history_update(
            user=User.objects.get(pk=user_pk), entries=entries, actor=None, source="api"
        )

    assert run_in_threads(update) == []
    amounts = list(
        SalesHistoryEntry.objects.filter(user_id=user_pk).values_list("amount", flat=True)
    )
    assert len(amounts) == PER_THREAD
    assert len(set(amounts)) == 1  # one request's amounts won, whole


def test_concurrent_replaces_leave_exactly_one_requests_history():
    """Without the row lock two replaces read the same old history and both insert: a union."""
    user_pk = UserFactory(office=None).pk

    def replace(i: int) -> None:
        entries = [
            HistoryEntryData(
                nit=f"{i}", amount=Decimal(j), date=START + dt.timedelta(minutes=j), emc="X"
            )
            for j in range(PER_THREAD)
        ]
        sales_history_update(
            user=User.objects.get(pk=user_pk),
            entries=entries,
            replace=True,
            actor=None,
            source="api",
        )

    assert run_in_threads(replace) == []
    nits = set(SalesHistoryEntry.objects.filter(user_id=user_pk).values_list("nit", flat=True))
    assert len(nits) == 1
    assert SalesHistoryEntry.objects.filter(user_id=user_pk).count() == PER_THREAD
