"""A seller renamed while their first document is written: the name beside the totals ends
up the new one (sales/seller_names_sql.py reads the user ``FOR SHARE``).

PostgreSQL only: SQLite has one writer at a time, so the two cannot overlap there.
"""

import threading
import time

import pytest
from django.db import connection, transaction

from sales.models import SellerName
from tests.factories import DocumentFactory, DocumentTypeFactory, OfficeFactory, UserFactory
from users.models import User

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def _wait_for_a_blocked_backend(timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def test_a_rename_while_the_first_document_is_written_is_not_lost():
    seller = UserFactory(first_name="Old", last_name="Name")
    dtype, office = DocumentTypeFactory(), OfficeFactory()
    renamed, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def rename() -> None:
        try:
            with transaction.atomic():
                User.objects.filter(pk=seller.pk).update(last_name="Renamed")
                renamed.set()
                release.wait(timeout=30)  # the user's row stays locked until then
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    def first_document() -> None:
        try:
            DocumentFactory(document_type=dtype, office=office, user_id=seller.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    renaming = threading.Thread(target=rename)
    renaming.start()
    assert renamed.wait(timeout=30)
    writing = threading.Thread(target=first_document)
    writing.start()
    # The document's trigger waits for the rename to commit (or, without the lock, has
    # already copied the old name and finished).
    blocked = _wait_for_a_blocked_backend(timeout=3)
    release.set()
    for thread in (renaming, writing):
        thread.join(timeout=60)
    assert not errors
    assert blocked
    assert SellerName.objects.get(pk=seller.pk).last_name == "Renamed"
