"""``POST /v1/users/{id}/history.json``: the Leancore history update as a viewset action."""

from decimal import Decimal

import pytest

from sales.models import SalesHistoryEntry
from tests.conftest import grant, token_for
from tests.factories import UserFactory
from users.models import AuditEntry

ENTRY = {
    "nit": "900123456-7",
    "monto": 150000.5,
    "fecha": "2024-03-01T10:30:00-05:00",
    "emc": "Postobón",
}


@pytest.fixture
def writer(db, api_client):
    account = UserFactory(username="integrator", office=None)
    grant(account, "users.change_sales_history", "users.view_user")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(account)}")
    return account


def test_merges_and_answers_the_leancore_user(api_client, writer):
    merchant = UserFactory()
    response = api_client.post(
        f"/v1/users/{merchant.pk}/history.json", {"history": [ENTRY]}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == str(merchant.uuid)
    assert body["history"] == [ENTRY]
    assert SalesHistoryEntry.objects.get(user=merchant).amount == Decimal("150000.50")
    audit = AuditEntry.objects.get(user=merchant)
    assert (audit.actor, audit.source, audit.field) == (writer, "api", "history")


def test_replace_and_no_suffix(api_client, writer):
    merchant = UserFactory()
    api_client.post(f"/v1/users/{merchant.pk}/history", {"history": [ENTRY]}, format="json")
    other = {**ENTRY, "nit": "800111222-3"}
    response = api_client.post(
        f"/v1/users/{merchant.pk}/history.json",
        {"history": [other], "replace": True},
        format="json",
    )
    assert [e["nit"] for e in response.json()["history"]] == ["800111222-3"]


def test_user_id_in_the_body_is_refused(api_client, writer):
    merchant = UserFactory()
    body = {"user_id": str(merchant.uuid), "history": [ENTRY]}
    response = api_client.post(f"/v1/users/{merchant.pk}/history.json", body, format="json")
    assert response.status_code == 400
    assert "user_id" in response.json()["errors"]
    assert not SalesHistoryEntry.objects.exists()


def test_bad_entry_names_index_and_field(api_client, writer):
    merchant = UserFactory()
    body = {"history": [ENTRY, {**ENTRY, "nit": "x", "monto": "12"}]}
    response = api_client.post(f"/v1/users/{merchant.pk}/history.json", body, format="json")
    assert response.status_code == 400
    assert "history[1].monto" in response.json()["errors"]
    assert not SalesHistoryEntry.objects.exists()


def test_unknown_user_is_404(api_client, writer):
    response = api_client.post("/v1/users/987654/history.json", {"history": [ENTRY]}, format="json")
    assert response.status_code == 404
    assert "error" in response.json()


def test_reading_permissions_are_not_enough(db, api_client, reader):
    merchant = UserFactory()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(reader)}")
    response = api_client.post(
        f"/v1/users/{merchant.pk}/history.json", {"history": [ENTRY]}, format="json"
    )
    assert response.status_code == 403
    assert not SalesHistoryEntry.objects.exists()


def test_without_token_is_401(db, api_client):
    merchant = UserFactory()
    response = api_client.post(
        f"/v1/users/{merchant.pk}/history.json", {"history": [ENTRY]}, format="json"
    )
    assert response.status_code == 401


def test_password_change_revokes_earlier_tokens(db, api_client, writer):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(writer)}")
    writer.set_password("a-new-secret-456")
    writer.save()
    response = api_client.post(f"/v1/users/{writer.pk}/history.json", {}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "path", ["/v1/users.json", "/v1/users/1/history.json", "/update-user-sales-history"]
)
def test_options_answers_the_methods_its_allow_header_lists(api_client, admin_user, path):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(admin_user)}")
    response = api_client.options(path)
    assert response.status_code == 200
    allowed = [m.strip() for m in response.headers["Allow"].split(",")]
    assert "OPTIONS" in allowed
    assert response.json()["methods"] == allowed
