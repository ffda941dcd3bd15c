"""The database itself refuses bad rows, whatever code path writes them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from offices.models import Office
from sales.models import Document, DocumentType, SalesHistoryEntry
from tests.factories import (
    DocumentFactory,
    DocumentTypeFactory,
    OfficeFactory,
    SalesHistoryEntryFactory,
    UserFactory,
)
from users.models import User

pytestmark = pytest.mark.django_db


def refused(callable_, *args, **kwargs) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_(*args, **kwargs)


def test_negative_quota():
    user = UserFactory()
    refused(User.objects.filter(pk=user.pk).update, quota=Decimal("-0.01"))
    refused(UserFactory, quota=Decimal("-1"))
    user.refresh_from_db()
    assert user.quota == Decimal("1500000.00")


@pytest.mark.parametrize("field", ["net_amount", "tax_amount", "exempt_amount", "total_amount"])
def test_negative_document_amounts(field):
    document = DocumentFactory()
    refused(Document.objects.filter(pk=document.pk).update, **{field: Decimal("-1.00")})


def test_negative_history_amount():
    entry = SalesHistoryEntryFactory()
    refused(SalesHistoryEntry.objects.filter(pk=entry.pk).update, amount=Decimal("-5"))
    refused(SalesHistoryEntryFactory, amount=Decimal("-0.01"))


def test_duplicate_folio_per_document_type():
    document = DocumentFactory(number=1001)
    refused(DocumentFactory, number=1001, document_type=document.document_type)
    # The same folio in another document type is fine.
    DocumentFactory(number=1001, document_type=DocumentTypeFactory(name="Factura", code="33"))
    assert Document.objects.filter(number=1001).count() == 2


def test_duplicate_history_key():
    entry = SalesHistoryEntryFactory()
    refused(
        SalesHistoryEntryFactory,
        user=entry.user,
        nit=entry.nit,
        date=entry.date,
        emc=entry.emc,
        amount=Decimal("1.00"),
    )
    # Another date, nit, emc or user is another entry.
    SalesHistoryEntryFactory(
        user=entry.user, nit=entry.nit, emc=entry.emc, date=entry.date + dt.timedelta(seconds=1)
    )
    SalesHistoryEntryFactory(user=UserFactory(), nit=entry.nit, emc=entry.emc, date=entry.date)
    assert SalesHistoryEntry.objects.count() == 3


@pytest.mark.parametrize(
    "make, model",
    [(DocumentFactory, Document), (OfficeFactory, Office), (DocumentTypeFactory, DocumentType)],
)
def test_state_7(make, model):
    obj = make()
    refused(model.objects.filter(pk=obj.pk).update, state=7)
    refused(make, state=7)


def test_document_type_use_9():
    doc_type = DocumentTypeFactory()
    refused(DocumentType.objects.filter(pk=doc_type.pk).update, use=9)


def test_duplicate_username_and_uuid():
    user = UserFactory()
    refused(UserFactory, username=user.username)
    refused(UserFactory, uuid=user.uuid)


@pytest.mark.parametrize("target", ["office", "user", "document_type"])
def test_protected_at_the_orm_level(target):
    document = DocumentFactory()
    with pytest.raises(ProtectedError), transaction.atomic():
        getattr(document, target).delete()
    assert Document.objects.filter(pk=document.pk).exists()
