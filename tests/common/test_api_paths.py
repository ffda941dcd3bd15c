"""Paths under the API: ids are ASCII digits only, every error is JSON in every mode
(DEBUG included), and OPTIONS answers what the Allow header says."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from sales.models import SalesHistoryEntry
from tests.api_helpers import assert_error
from tests.conftest import token_for
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db

# Another script's digits for each ASCII digit: int() reads all of them as numbers.
SCRIPTS = {
    "arabic-indic": 0x660,
    "fullwidth": 0xFF10,
    "devanagari": 0x966,
    "bengali": 0x9E6,
}


def in_script(number: int, script: str) -> str:
    return "".join(chr(SCRIPTS[script] + int(d)) for d in str(number))


@pytest.fixture
def boss_client(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(UserFactory(is_superuser=True))}")
    return client


@pytest.fixture
def document(db):
    return DocumentFactory()


ID_TEMPLATES = [
    ("users", "/v1/users/{}.json"),
    ("users", "/v1/users/{}"),
    ("users", "/v1/users/{}/"),
    ("users", "/v1/users/{}/sales.json"),
    ("users", "/v1/users/{}/returns.json"),
    ("offices", "/v1/offices/{}.json"),
    ("document_types", "/v1/document_types/{}.json"),
    ("documents", "/v1/documents/{}.json"),
    ("documents", "/v1/documents/{}"),
]


def existing_id(document, kind: str) -> int:
    return {
        "users": document.user_id,
        "offices": document.office_id,
        "document_types": document.document_type_id,
        "documents": document.pk,
    }[kind]


@pytest.mark.parametrize("script", list(SCRIPTS))
@pytest.mark.parametrize(("kind", "template"), ID_TEMPLATES)
def test_ids_in_other_scripts_digits_are_a_json_404(boss_client, document, kind, template, script):
    pk = existing_id(document, kind)
    assert boss_client.get(template.format(pk)).status_code == 200  # the ASCII one exists
    for odd in (in_script(pk, script), f"{pk}{in_script(0, script)}"):
        assert_error(boss_client.get(template.format(odd)), 404)


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_the_history_write_refuses_other_scripts_digits(boss_client, script):
    merchant = UserFactory()
    url = f"/v1/users/{in_script(merchant.pk, script)}/history.json"
    body = {"history": [{"nit": "1", "monto": 1, "fecha": "2024-03-01", "emc": "X"}]}
    assert_error(boss_client.post(url, body, format="json"), 404)
    assert not SalesHistoryEntry.objects.exists()


UNMATCHED = [
    "/v1/users/%C2%84.json",
    "/v1/users/%C2%84",
    "/v1/users/1/nothing.json",
    "/v1/nothing.json",
    "/v1/",
    "/v1",
    "/api/nothing/",
    "/api/token/nothing/",
    "/oauth2/nothing",
    "/user/1",
    "/update-user-sales-history/x",
]


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG on", "DEBUG off"])
@pytest.mark.parametrize("path", UNMATCHED)
def test_unmatched_api_paths_are_a_json_404_in_every_mode(settings, boss_client, debug, path):
    settings.DEBUG = debug
    for client in (boss_client, APIClient()):
        response = client.get(path)
        body = assert_error(response, 404)
        assert body["error"].startswith("Not found")


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG on", "DEBUG off"])
def test_a_method_django_refuses_under_the_api_is_a_json_405(settings, debug):
    settings.DEBUG = debug
    response = APIClient().delete("/healthz")
    assert_error(response, 405)
    assert response["Allow"] == "GET"


def test_other_paths_keep_djangos_pages(settings, client):
    settings.DEBUG = True
    response = client.get("/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


OPTIONS_DOORS = [
    "/v1/users.json",
    "/v1/users/count.json",
    "/v1/users/{user}.json",
    "/v1/users/{user}/history.json",
    "/v1/documents.json",
    "/v1/documents/{doc}.json",
    "/user",
    "/update-user-sales-history",
    "/api/token/",
    "/api/token/refresh/",
    "/api/token/verify/",
    "/oauth2/token",
]


@pytest.mark.parametrize("template", OPTIONS_DOORS)
def test_options_answers_what_allow_lists(boss_client, document, template):
    path = template.format(user=document.user_id, doc=document.pk)
    response = boss_client.options(path)
    assert response.status_code == 200, response.content
    allowed = [method.strip() for method in response["Allow"].split(",")]
    assert "OPTIONS" in allowed
    assert response.json()["methods"] == allowed


def test_options_needs_a_token_where_the_methods_do():
    response = APIClient().options("/v1/users.json")
    assert_error(response, 401)
