"""Database faults answer 503 JSON with Retry-After, never a 500 or an HTML page.

The real thing, no mocks: gunicorn (config/gunicorn.py) serving the app on a
PostgreSQL URL whose port is closed, so every query fails to connect, including
the one authentication makes to load the token's user.
"""

from __future__ import annotations

import pytest
import requests
from django.db import InterfaceError, OperationalError
from rest_framework_simplejwt.tokens import AccessToken

from common.errors import DATABASE_UNAVAILABLE, exception_handler
from tests.servers import gunicorn

DEAD_DATABASE = "postgres://postgres@127.0.0.1:1/nothing"  # nothing listens on port 1


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": DATABASE_UNAVAILABLE}
    assert int(response.headers["Retry-After"]) >= 1


@pytest.fixture(scope="module")
def dead_db_server():
    with gunicorn({"DATABASE_URL": DEAD_DATABASE}) as base:
        yield base


def _token_for_user_id(user_id: int) -> str:
    """A valid JWT (signed with the same dev key as the server's) for a user id; making it
    needs no database, checking it needs one (the user is loaded to see it is active)."""
    token = AccessToken()
    token["user_id"] = str(user_id)
    return str(token)


@pytest.mark.server
@pytest.mark.parametrize("header", ["Authorization", "access_token"])
@pytest.mark.parametrize(
    "path", ["/v1/users.json", "/v1/documents/1.json", "/v1/users/sales_summary.json", "/user"]
)
def test_authenticated_reads_are_503_when_the_database_is_down(dead_db_server, header, path):
    token = _token_for_user_id(1)
    value = f"Bearer {token}" if header == "Authorization" else token
    response = requests.get(dead_db_server + path, headers={header: value}, timeout=10)
    assert_unavailable(response)
    assert response.headers["X-Request-ID"]


@pytest.mark.server
def test_history_write_is_503_when_the_database_is_down(dead_db_server):
    body = {
        "user_id": "6f1c2b9e-0000-4000-8000-000000000001",
        "history": [{"nit": "900123456-7", "monto": 1.5, "fecha": "2024-03-01", "emc": "X"}],
    }
    headers = {"Authorization": f"Bearer {_token_for_user_id(1)}"}
    response = requests.post(
        dead_db_server + "/update-user-sales-history", json=body, headers=headers, timeout=10
    )
    assert_unavailable(response)


@pytest.mark.server
def test_token_endpoints_are_503_when_the_database_is_down(dead_db_server):
    response = requests.post(
        dead_db_server + "/api/token/",
        json={"username": "someone", "password": "a-password-1"},
        timeout=10,
    )
    assert_unavailable(response)
    response = requests.post(
        dead_db_server + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=("client", "secret"),
        timeout=10,
    )
    assert_unavailable(response)


@pytest.mark.server
def test_admin_login_is_503_when_the_database_is_down(dead_db_server):
    """A plain Django view (not DRF): the middleware gives the same answer."""
    session = requests.Session()
    page = session.get(dead_db_server + "/admin/login/", timeout=10)
    csrf = session.cookies.get("csrftoken", "")
    assert page.status_code == 200
    response = session.post(
        dead_db_server + "/admin/login/",
        data={"username": "admin", "password": "x", "csrfmiddlewaretoken": csrf},
        headers={"Referer": dead_db_server + "/admin/login/"},
        timeout=10,
    )
    assert_unavailable(response)


@pytest.mark.server
def test_healthz_is_503_when_the_database_is_down(dead_db_server):
    response = requests.get(dead_db_server + "/healthz", timeout=10)
    assert response.status_code == 503
    assert response.json()["status"] != "ok"


@pytest.mark.server
def test_without_a_token_it_is_still_401(dead_db_server):
    """Nothing to look up, so no database needed: the usual 401."""
    response = requests.get(dead_db_server + "/v1/users.json", timeout=10)
    assert response.status_code == 401
    assert "error" in response.json()


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError("server closed the connection unexpectedly"),
        InterfaceError("connection already closed"),
    ],
)
def test_the_drf_handler_maps_database_errors_to_503(exc):
    response = exception_handler(exc, {"request": None})
    assert response.status_code == 503
    assert response.data == {"error": DATABASE_UNAVAILABLE}
    assert response["Retry-After"] == "5"


def test_other_errors_are_still_left_to_django():
    assert exception_handler(ValueError("a bug"), {"request": None}) is None
