"""The upsert services the sync, the webhook and import_documents share."""

from decimal import Decimal

import pytest
from django.db import connection

from common.errors import InvalidInput
from common.sequences import LOCAL_ID_START
from offices.models import Office
from offices.services import offices_upsert
from sales.services import documents_upsert
from tests.api_helpers import get
from tests.common.test_auth_cache import COUNT, cache_on, client_of  # noqa: F401 (fixtures)
from tests.factories import DocumentTypeFactory, OfficeFactory, UserFactory
from users.models import User
from users.services import users_upsert

pytestmark = pytest.mark.django_db


def office(pk, **overrides):
    return {
        "id": pk,
        "name": f"Office {pk}",
        "city": "Lima",
        "state": 0,
        "isVirtual": 0,
        **overrides,
    }


def bsale_user(pk, **overrides):
    return {
        "id": pk,
        "firstName": "Ana",
        "lastName": "Diaz",
        "email": f"ana{pk}@example.com",
        "state": 0,
        "office": None,
        **overrides,
    }


def test_a_page_is_upserted_in_a_few_statements_and_unchanged_rows_are_not_written(
    django_assert_num_queries,
):
    items = [office(pk) for pk in range(1, 51)]
    result = offices_upsert(items=items)
    assert result.counts() == {"created": 50, "updated": 0, "unchanged": 0}
    # A second, identical page: one SELECT (plus the service's savepoint and its release),
    # no write at all, whatever the page size.
    with django_assert_num_queries(3):
        result = offices_upsert(items=items)
    assert result.counts() == {"created": 0, "updated": 0, "unchanged": 50}
    items[3]["city"] = "Cusco"
    items[7]["state"] = 1
    result = offices_upsert(items=items)
    assert result.counts() == {"created": 0, "updated": 2, "unchanged": 48}
    assert Office.objects.get(pk=4).city == "Cusco" and Office.objects.get(pk=8).state == 1


def test_a_bad_record_names_its_key_and_nothing_is_written():
    with pytest.raises(ValueError, match="state must be 0 or 1"):
        offices_upsert(items=[office(1), office(2, state=7)])
    with pytest.raises(ValueError, match="id must be a positive id"):
        offices_upsert(items=[office(-1)])
    assert not Office.objects.exists()


def test_new_users_get_a_derived_username_and_no_usable_password():
    users_upsert(items=[bsale_user(32)])
    user = User.objects.get(pk=32)
    assert user.username == "bsale-32" and not user.has_usable_password()
    assert (user.first_name, user.last_name, user.is_active) == ("Ana", "Diaz", True)


def test_a_superuser_is_never_overwritten_by_an_id_collision():
    admin = UserFactory(is_superuser=True, is_staff=True, first_name="Root")
    result = users_upsert(items=[bsale_user(admin.pk, state=1, firstName="Intruder")])
    assert admin.pk in result.skipped
    admin.refresh_from_db()
    assert admin.is_active and admin.first_name == "Root"


def test_a_user_deactivated_in_bsale_loses_its_tokens_at_once(client_of, reader):  # noqa: F811
    # client_of: the reader's token, its authentication already cached.
    item = bsale_user(reader.pk, firstName=reader.first_name, lastName=reader.last_name, state=1)
    users_upsert(items=[item])
    assert get(client_of, COUNT).status_code == 401


def test_documents_naming_unknown_records_are_refused_whole():
    dtype = DocumentTypeFactory()
    good = {
        "id": 10,
        "document_type": {"id": str(dtype.pk)},
        "number": 1,
        "emissionDate": 1_700_000_000,
        "generationDate": 1_700_000_000,
        "office": {"id": "424242"},
        "user": None,
        "netAmount": Decimal("100"),
        "taxAmount": Decimal("19"),
        "exemptAmount": 0,
        "totalAmount": Decimal("119.50"),
        "state": 0,
    }
    with pytest.raises(InvalidInput) as caught:
        documents_upsert(items=[good])
    assert caught.value.errors == {"offices": ["unknown id 424242"]}
    good["office"] = {"id": str(OfficeFactory().pk)}
    assert documents_upsert(items=[good]).counts()["created"] == 1


def test_local_ids_start_high_and_stay_above_explicit_ids():
    # The migration: rows created here start at LOCAL_ID_START.
    assert OfficeFactory().pk >= LOCAL_ID_START
    # A mirrored id above every local one: the next local row still does not collide.
    offices_upsert(items=[office(LOCAL_ID_START + 500)])
    assert OfficeFactory().pk > LOCAL_ID_START + 500


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's sequences")
def test_postgresql_sequence_follows_explicit_ids():
    # PostgreSQL sequences survive rolled-back tests: start from wherever this one stands.
    above = max(UserFactory().pk, LOCAL_ID_START) + 900
    users_upsert(items=[bsale_user(above)])
    assert UserFactory().pk == above + 1
