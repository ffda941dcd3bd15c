"""Long or NUL credentials and NUL in any query or form are a clean 4xx on every backend.

PostgreSQL refuses NUL in text (psycopg raises before sending the query) and refuses a
value longer than a varchar column when django-axes records a failed login: both were
500s on PostgreSQL while SQLite, which checks neither, answered 401. Credentials are now
checked before django-axes and the password backends (common.login_lockout), and a NUL in a
URL, query string or form body is a 400 at the edge (common.middleware). These tests run
on both databases; on PostgreSQL they fail without the fix.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import grant, token_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "secret-pass-123"  # tests.factories.UserFactory's
BAD_USERNAMES = {
    "300 characters": "a" * 300,
    "5000 characters": "b" * 5000,
    "a NUL inside": "a\x00b",
    "only a NUL": "\x00",
    "a NUL after a real name": "staffer\x00",
    "256 multibyte characters": "é" * 256,
}


@pytest.fixture
def staff():
    return UserFactory(username="staffer", is_staff=True, is_superuser=True, office=None)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _assert_json_error(response, statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]


@pytest.mark.parametrize("kind", list(BAD_USERNAMES))
def test_token_endpoint(staff, kind):
    body = {"username": BAD_USERNAMES[kind], "password": "x"}
    response = APIClient().post("/api/token/", body, format="json")
    _assert_json_error(response, (400, 401))
    form = urlencode(body)
    response = APIClient().post(
        "/api/token/", form, content_type="application/x-www-form-urlencoded"
    )
    _assert_json_error(response, (400, 401))


@pytest.mark.parametrize("kind", list(BAD_USERNAMES))
def test_oauth2_token_with_basic_credentials(staff, kind):
    response = APIClient().post(
        "/oauth2/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=_basic(BAD_USERNAMES[kind], "x"),
    )
    _assert_json_error(response, (400, 401))


@pytest.mark.parametrize("kind", list(BAD_USERNAMES))
def test_oauth2_token_with_credentials_in_the_body(staff, kind):
    body = {"grant_type": "client_credentials", "client_id": BAD_USERNAMES[kind]}
    response = APIClient().post(
        "/oauth2/token",
        urlencode({**body, "client_secret": "x"}),
        content_type="application/x-www-form-urlencoded",
    )
    _assert_json_error(response, (400, 401))


@pytest.mark.parametrize("kind", list(BAD_USERNAMES))
def test_admin_login(staff, kind):
    response = Client().post(
        "/admin/login/?next=/admin/", {"username": BAD_USERNAMES[kind], "password": "x"}
    )
    # The form again with its error (200), or the edge's 400 JSON for a NUL.
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        assert response.json()["error"]


def test_the_right_credentials_still_work_after_refused_ones(staff):
    for kind in BAD_USERNAMES:
        body = {"username": BAD_USERNAMES[kind], "password": "x"}
        APIClient().post("/api/token/", body, format="json")
    body = {"username": "staffer", "password": PASSWORD}
    response = APIClient().post("/api/token/", body, format="json")
    assert response.status_code == 200


def test_a_nul_password_is_a_clean_refusal(staff):
    response = APIClient().post(
        "/oauth2/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=_basic("staffer", "pass\x00word"),
    )
    _assert_json_error(response, (400, 401))


# --- NUL in query strings and forms: every text filter, every admin search box ----------------

ADMIN_URLS = [
    "/admin/users/user/?q=%00",
    "/admin/users/user/?q=a%00b",
    "/admin/offices/office/?q=%00",
    "/admin/sales/document/?q=%00",
    "/admin/sales/documenttype/?q=%00",
    "/admin/users/user/?office__id__exact=%00",
    "/admin/users/user/?is_active__exact=%00",
    "/admin/autocomplete/?term=%00&app_label=sales&model_name=document&field_name=user",
    "/admin/autocomplete/?term=a%00&app_label=sales&model_name=document&field_name=office",
    "/admin/users/auditentry/?q=%00",
    "/admin/login/?next=%00",
]


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_admin_pages_refuse_nul(staff_client, url):
    response = staff_client.get(url)
    _assert_json_error(response, (400,))


API_URLS = [
    "/v1/users.json?firstname=%00",
    "/v1/users.json?lastname=a%00",
    "/v1/users.json?email=%00",
    "/v1/users/count.json?firstname=%00",
    "/v1/offices.json?name=%00",
    "/v1/offices.json?city=%00",
    "/v1/document_types.json?name=%00",
    "/v1/documents.json?number=%00",
    "/v1/users.json?fields=%00",
    "/v1/users.json?expand=%00",
    "/user?nit=%00",
    "/user?phone=%00",
    "/user?id=%00",
    "/v1/users%00.json",
]


@pytest.mark.parametrize("url", API_URLS)
def test_api_filters_refuse_nul(auth_client, url):
    response = auth_client.get(url)
    _assert_json_error(response, (400, 404))


def test_a_nul_in_a_form_body_is_refused():
    response = Client().post(
        "/admin/login/",
        "username=a%00b&password=x",
        content_type="application/x-www-form-urlencoded",
    )
    _assert_json_error(response, (400,))


def test_a_nul_free_search_still_works(staff_client, auth_client):
    assert staff_client.get("/admin/users/user/?q=boss").status_code == 200
    assert auth_client.get("/v1/users.json?firstname=x").status_code == 200


@pytest.fixture
def leancore_reader():
    user = UserFactory(username="leancore-reader", office=None)
    grant(user, "users.view_user")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


@pytest.mark.parametrize(
    "forwarded", ["not-an-address", "1.2.3.4\x00", "a" * 300, "999.1.1.1", "1.2.3.4, ::zz"]
)
def test_a_forged_forwarded_address_is_never_recorded(staff, settings, forwarded):
    """Behind one proxy the address comes from X-Forwarded-For; what is not an address is
    ignored (django-axes writes it to an inet column on PostgreSQL)."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    body = {"username": "staffer", "password": "wrong"}
    response = APIClient().post("/api/token/", body, format="json", HTTP_X_FORWARDED_FOR=forwarded)
    _assert_json_error(response, (401,))


@pytest.mark.parametrize(
    "body",
    [
        "grant_type=client_credentials&client_id=a%00&client_secret=x",
        "grant_type=client%00&client_id=a&client_secret=x",
    ],
)
def test_oauth2_answers_a_nul_in_its_own_error_shape(body):
    response = APIClient().post(
        "/oauth2/token", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "NUL" in response.json()["error_description"]
