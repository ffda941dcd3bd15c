"""A JSON body whose object repeats a key is a 400 naming it, on every JSON door, and
nothing is written (decided: no silent last-wins; docs/security.md)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from sales.models import SalesHistoryEntry
from tests.api_helpers import assert_error
from tests.conftest import grant, token_for
from tests.factories import UserFactory
from users.models import AuditEntry

pytestmark = pytest.mark.django_db
ENTRY = '{"nit": "900123456-7", "monto": 10, "fecha": "2024-03-01", "emc": "X"}'


@pytest.fixture
def client(db):
    account = UserFactory(office=None)
    grant(account, "users.view_user", "users.change_sales_history")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(account)}")
    return client


def bodies(merchant) -> list[tuple[str, str, str]]:
    uid = f'"user_id": "{merchant.uuid}"'
    entry_twice = ENTRY.replace('"emc": "X"', '"emc": "X", "monto": 99')
    return [
        (
            "/update-user-sales-history",
            f'{{{uid}, "history": [{ENTRY}], "history": []}}',
            "history",
        ),
        ("/update-user-sales-history", f'{{{uid}, {uid}, "history": [{ENTRY}]}}', "user_id"),
        ("/update-user-sales-history", f'{{{uid}, "history": [{entry_twice}]}}', "monto"),
        (f"/v1/users/{merchant.pk}/history.json", f'{{"history": [{entry_twice}]}}', "monto"),
        (
            f"/v1/users/{merchant.pk}/history.json",
            f'{{"replace": true, "history": [{ENTRY}], "replace": false}}',
            "replace",
        ),
    ]


def test_a_repeated_key_is_a_400_naming_it_and_nothing_is_written(client):
    merchant = UserFactory()
    for url, body, key in bodies(merchant):
        response = client.post(url, body, content_type="application/json")
        error = assert_error(response, 400)
        assert f"'{key}'" in error["error"], error
    assert not SalesHistoryEntry.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("url", ["/api/token/", "/api/token/refresh/", "/api/token/verify/"])
def test_the_token_endpoints_refuse_repeated_keys(url):
    body = '{"username": "a", "username": "b", "password": "x", "refresh": "r", "token": "t"}'
    response = APIClient().post(url, body, content_type="application/json")
    assert "'username'" in assert_error(response, 400)["error"]


def test_the_same_key_in_different_objects_is_fine(client):
    merchant = UserFactory()
    other = ENTRY.replace("900123456-7", "800111222-3")
    body = f'{{"history": [{ENTRY}, {other}]}}'
    url = f"/v1/users/{merchant.pk}/history.json"
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert len(response.json()["history"]) == 2
