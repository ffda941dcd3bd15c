"""No door around a permission (SPEC section 2): every model a 200 shows needs its view
permission, whichever way it is reached (``expand``, a seller's documents, the history
write that answers with the profile)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from common.openapi import expand_paths
from offices.resources import OFFICE_RESOURCE
from sales.models import SalesHistoryEntry
from sales.resources import DOCUMENT_RESOURCE
from tests.api_helpers import assert_error, get
from tests.conftest import READ_PERMS, grant, token_for
from tests.factories import DocumentFactory, UserFactory
from users.models import AuditEntry
from users.resources import USER_RESOURCE

pytestmark = pytest.mark.django_db

# Every expandable path, written by hand, with each model's view permission on it.
EXPAND_CASES = [
    ("users", "office", ["offices.view_office"]),
    ("documents", "document_type", ["sales.view_documenttype"]),
    ("documents", "office", ["offices.view_office"]),
    ("documents", "user", ["users.view_user"]),
    ("documents", "user.office", ["users.view_user", "offices.view_office"]),
]
ROOT_PERMS = {"users": "users.view_user", "documents": "sales.view_document"}
# Every (case, one permission of its path that the caller lacks), the root's excepted
# (without it the resource itself is a 403, tested in test_auth).
MISSING = [
    (resource, path, perm)
    for resource, path, perms in EXPAND_CASES
    for perm in perms
    if perm != ROOT_PERMS[resource]
]


def client_with_perms(*perms: str) -> APIClient:
    account = UserFactory(office=None)
    grant(account, *perms)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(account)}")
    return client


@pytest.fixture
def document(db):
    return DocumentFactory()


def urls(resource: str, document) -> list[str]:
    pk = document.user_id if resource == "users" else document.pk
    return [f"/v1/{resource}.json", f"/v1/{resource}/{pk}.json", f"/v1/{resource}/{pk}"]


def test_the_cases_cover_every_expandable_path():
    assert OFFICE_RESOURCE.relations == []  # offices and document types expand nothing
    listed = {(r, p) for r, p, _ in EXPAND_CASES}
    assert {("users", p) for p in expand_paths(USER_RESOURCE)} | {
        ("documents", p) for p in expand_paths(DOCUMENT_RESOURCE)
    } == listed


@pytest.mark.parametrize(("resource", "path", "missing"), MISSING)
@pytest.mark.parametrize("shape", ["expand", "expand+fields", "upper case, no brackets"])
def test_expand_needs_the_view_permission_of_every_model_on_its_path(
    document, resource, path, missing, shape
):
    client = client_with_perms(*(p for p in READ_PERMS if p != missing))
    params = {
        "expand": {"expand": f"[{path}]"},
        "expand+fields": {"expand": f"[{path}]", "fields": f"[{path.split('.')[0]}]"},
        "upper case, no brackets": {"expand": path.upper()},
    }[shape]
    for url in urls(resource, document):
        body = assert_error(get(client, url, params), 403, "permissions")
        assert body["errors"]["permissions"] == [missing]
        assert missing in body["error"]
        # The relation named: the part of the path whose model the caller may not view.
        relation = path.split(".")[: path.split(".").index(missing_key(path, missing)) + 1]
        assert body["errors"]["expand"] == [".".join(relation)]
        assert f"expand={'.'.join(relation)}" in body["error"]


def missing_key(path: str, perm: str) -> str:
    model_of = {
        "office": "offices.view_office",
        "user": "users.view_user",
        "document_type": "sales.view_documenttype",
    }
    return next(part for part in path.split(".") if model_of[part] == perm)


@pytest.mark.parametrize(("resource", "path", "perms"), EXPAND_CASES)
def test_with_every_permission_on_the_path_expand_answers(document, resource, path, perms):
    client = client_with_perms(ROOT_PERMS[resource], *perms)
    for url in urls(resource, document):
        response = get(client, url, {"expand": f"[{path}]"})
        assert response.status_code == 200, response.content


def test_a_relation_not_expanded_shows_only_its_reference(document):
    # fields=[user] without expand: {href, id}, a column of the document's own row.
    client = client_with_perms("sales.view_document")
    response = get(client, f"/v1/documents/{document.pk}.json", {"fields": "[user,office]"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body["user"]) == {"href", "id"}
    assert set(body["office"]) == {"href", "id"}


def test_the_superuser_expands_everything(document):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(UserFactory(is_superuser=True))}")
    response = get(client, f"/v1/documents/{document.pk}.json", {"expand": "[user.office]"})
    assert response.status_code == 200
    assert response.json()["user"]["office"]["name"] == document.user.office.name


@pytest.mark.parametrize("kind", ["sales", "returns"])
def test_a_sellers_documents_show_the_document_types_name_so_need_its_permission(document, kind):
    url = f"/v1/users/{document.user_id}/{kind}.json"
    client = client_with_perms("users.view_user", "sales.view_document")
    body = assert_error(get(client, url), 403, "permissions")
    assert body["errors"]["permissions"] == ["sales.view_documenttype"]
    allowed = client_with_perms("users.view_user", "sales.view_document", "sales.view_documenttype")
    assert get(allowed, url).status_code == 200


@pytest.mark.parametrize(
    "lacking", ["users.view_user", "sales.view_document"], ids=["no view_user", "no view_doc"]
)
def test_the_sales_summary_shows_names_and_amounts_so_needs_both(document, lacking):
    client = client_with_perms(*(p for p in READ_PERMS if p != lacking))
    body = assert_error(get(client, "/v1/users/sales_summary.json"), 403, "permissions")
    assert body["errors"]["permissions"] == [lacking]


def test_the_openapi_description_of_expand_names_the_permissions(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/v1/documents/{id}.json"]["get"]
    (expand,) = [p for p in operation["parameters"] if p["name"] == "expand"]
    assert "user.office: users.view_user, offices.view_office" in expand["description"]
    assert "403" in expand["description"]


# --- The history write answers with the profile: it needs view_user too ---------------------

ENTRY = {"nit": "900123456-7", "monto": 10, "fecha": "2024-03-01", "emc": "Postobón"}


def history_doors(merchant) -> list[tuple[str, dict]]:
    return [
        (f"/v1/users/{merchant.pk}/history.json", {"history": [ENTRY]}),
        (f"/v1/users/{merchant.pk}/history.json", {}),
        ("/update-user-sales-history", {"user_id": str(merchant.uuid), "history": [ENTRY]}),
        ("/update-user-sales-history", {"user_id": str(merchant.uuid)}),
    ]


@pytest.mark.parametrize(
    ("perms", "missing"),
    [
        (["users.change_sales_history"], ["users.view_user"]),
        (["users.view_user"], ["users.change_sales_history"]),
        (READ_PERMS, ["users.change_sales_history"]),
        ([], ["users.change_sales_history", "users.view_user"]),
    ],
    ids=["write only", "read only", "every read", "none"],
)
def test_the_history_methods_need_the_write_and_view_user(perms, missing):
    merchant = UserFactory(phone="+573001112233", nit="900555111-2")
    client = client_with_perms(*perms)
    for url, body in history_doors(merchant):
        response = client.post(url, body, format="json")
        error = assert_error(response, 403, "permissions")
        assert error["errors"]["permissions"] == missing
        assert all(perm in error["error"] for perm in missing)
        assert merchant.phone not in response.content.decode()
    assert not SalesHistoryEntry.objects.exists()
    assert not AuditEntry.objects.exists()


def test_with_both_the_history_methods_answer():
    merchant = UserFactory()
    client = client_with_perms("users.change_sales_history", "users.view_user")
    for url, body in history_doors(merchant):
        response = client.post(url, body, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["id"] == str(merchant.uuid)
