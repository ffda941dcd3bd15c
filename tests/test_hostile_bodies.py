"""Hostile JSON bodies are a 400 (or the door's usual 401) on every door that reads JSON.

Deep nesting used to be a 500 (``RecursionError`` in ``json.load``) before anybody logged
in. One parser (common.parsers) serves every DRF view; these tests send each hostile body
to each door that accepts JSON: the token endpoints (anonymous), the Leancore method and
the users viewset's history action (authenticated, with the permissions they need).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from common.parsers import MAX_JSON_DEPTH
from tests.conftest import grant, token_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _nested(levels: int, leaf: bytes = b"1") -> bytes:
    return b"[" * levels + leaf + b"]" * levels


def _nested_objects(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


HOSTILE = {
    "1000 nested lists as username": b'{"username": ' + _nested(1000) + b', "password": "x"}',
    "100000 nested lists": _nested(100_000),
    "5000 nested objects": _nested_objects(5000),
    "nesting just over the limit": b'{"username": "a", "password": '
    + _nested(MAX_JSON_DEPTH)
    + b"}",
    "invalid UTF-8": b'{"username": "\xff\xfe", "password": "x"}',
    "truncated UTF-8": b'{"username": "\xc3", "password": "x"}',
    "lone surrogate": b'{"username": "\\ud800", "password": "x"}',
    "lone low surrogate": b'{"username": "\\udc00x", "password": "x"}',
    # orjson stops at the surrogate; Python's parser, which reads it, must refuse the rest.
    "a surrogate, then deep nesting": b'{"username": "\\ud800", "password": '
    + _nested(100_000)
    + b"}",
    "a surrogate, then 1e999": b'{"username": "\\ud800", "password": 1e999}',
    "a surrogate, then NaN": b'{"username": "\\ud800", "password": NaN}',
    "a surrogate, then a 5000-digit integer": b'{"username": "\\ud800", "n": 1'
    + b"0" * 5000
    + b"}",
    "1e999": b'{"username": "a", "password": "x", "n": 1e999}',
    "-1e999": b'{"history": [{"nit": "1", "monto": -1e999, "fecha": "2024-01-01", "emc": "E"}]}',
    "a 5000-digit integer": b'{"username": "a", "password": "x", "n": 1' + b"0" * 5000 + b"}",
    "a 5000-digit monto": b'{"history": [{"nit": "1", "monto": 9'
    + b"9" * 5000
    + b', "fecha": "2024-01-01", "emc": "E"}]}',
    "NaN": b'{"username": "a", "password": NaN}',
    "NUL escape in a value": b'{"username": "a\\u0000b", "password": "x"}',
    "NUL escape in a key": b'{"user\\u0000name": "a", "password": "x"}',
    "NUL in a history nit": b'{"history": [{"nit": "1\\u0000", "monto": 1, "fecha": "2024-01-01", "emc": "E"}]}',
    "top-level list": b"[]",
    "top-level number": b"12",
    "top-level string": b'"x"',
    "top-level null": b"null",
    "empty body": b"",
    "not JSON": b"{username",
    "username a list": b'{"username": ["a"], "password": "x"}',
    "username an object": b'{"username": {"a": 1}, "password": "x"}',
    "username a number": b'{"username": 12, "password": "x"}',
    "username null": b'{"username": null, "password": "x"}',
    "username true": b'{"username": true, "password": "x"}',
    "password a list": b'{"username": "a", "password": ["x"]}',
    "password an object": b'{"username": "a", "password": {"x": 1}}',
    "password null": b'{"username": "a", "password": null}',
    "token a list": b'{"token": ["x"], "refresh": {"a": [1]}}',
    "charset latin-1 mislabelled": b'{"username": "\xe9", "password": "x"}',
}


@pytest.fixture
def history_client():
    user = UserFactory(username="leancore-client", office=None)
    grant(user, "users.view_user", "users.change_sales_history")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    client.target = user
    return client


def _assert_clean_refusal(response, allowed=(400, 401)):
    assert response.status_code in allowed, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body


@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.parametrize("path", ["/api/token/", "/api/token/refresh/", "/api/token/verify/"])
def test_token_endpoints_refuse_hostile_bodies(path, kind):
    response = APIClient().post(path, HOSTILE[kind], content_type="application/json")
    _assert_clean_refusal(response)


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_leancore_method_refuses_hostile_bodies(history_client, kind):
    response = history_client.post(
        "/update-user-sales-history", HOSTILE[kind], content_type="application/json"
    )
    _assert_clean_refusal(response, allowed=(400,))


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_history_action_refuses_hostile_bodies(history_client, kind):
    response = history_client.post(
        f"/v1/users/{history_client.target.pk}/history.json",
        HOSTILE[kind],
        content_type="application/json",
    )
    # An empty or a history-less object is a valid request there (the user, unchanged).
    if kind in {"empty body"}:
        assert response.status_code == 200
        return
    _assert_clean_refusal(response, allowed=(400,))


def test_nesting_within_the_limit_still_parses(history_client):
    """The limit refuses abuse, not data: a body nested to the limit reaches the view."""
    body = b'{"user_id": "x", "extra": ' + _nested(MAX_JSON_DEPTH - 2) + b"}"
    response = history_client.post(
        "/update-user-sales-history", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nests" not in response.json()["error"]


@pytest.mark.parametrize("kind", ["1000 nested lists as username", "NUL escape in a value"])
def test_oauth2_token_refuses_json_bodies_cleanly(kind):
    response = APIClient().post("/oauth2/token", HOSTILE[kind], content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_latin1_body_is_read_with_its_charset():
    body = '{"username": "josé", "password": "x"}'.encode("latin-1")
    response = APIClient().post(
        "/api/token/", body, content_type="application/json; charset=latin-1"
    )
    assert response.status_code == 401  # parsed: a wrong login, not a 400
