"""``POST /oauth2/token`` (client credentials, RFC 6749) and simplejwt's ``/api/token/``."""

import base64
import json
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from sales.models import SalesHistoryEntry
from tests.conftest import grant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/oauth2/token"
SECRET = "s3cret-Client-Secret-0042"


@pytest.fixture
def api_client_account(db):
    user = UserFactory(username="leancore-prod", office=None, password=SECRET)
    grant(user, "users.change_sales_history", "users.view_user")
    return user


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_request(data=None, authorization=None, format="form"):
    """POST /oauth2/token as an OAuth2 client does: application/x-www-form-urlencoded."""
    data = data if data is not None else {"grant_type": "client_credentials"}
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    if format == "json":
        return APIClient().post(TOKEN_URL, data, format="json", **extra)
    return APIClient().post(
        TOKEN_URL, urlencode(data), content_type="application/x-www-form-urlencoded", **extra
    )


def assert_oauth_error(response, status, error):
    assert response.status_code == status, response.content
    data = response.json()
    assert set(data) == {"error", "error_description"}
    assert data["error"] == error
    assert data["error_description"]
    assert response.headers["Cache-Control"] == "no-store"
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Basic realm="api"'


def test_client_credentials_with_http_basic(api_client_account):
    response = token_request(authorization=basic("leancore-prod", SECRET))

    assert response.status_code == 200, response.content
    data = response.json()
    assert set(data) == {"access_token", "token_type", "expires_in"}
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 3600
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    token = AccessToken(data["access_token"])
    assert str(token["user_id"]) == str(api_client_account.pk)
    assert token["exp"] - token["iat"] == 3600


def test_expires_in_is_the_tokens_real_lifetime(api_client_account, monkeypatch):
    from datetime import timedelta

    monkeypatch.setattr(AccessToken, "lifetime", timedelta(minutes=5))

    data = token_request(authorization=basic("leancore-prod", SECRET)).json()

    assert data["expires_in"] == 300
    token = AccessToken(data["access_token"])
    assert token["exp"] - token["iat"] == 300


def test_end_to_end_token_then_update_user_sales_history(api_client_account):
    merchant = UserFactory()
    token = token_request(authorization=basic("leancore-prod", SECRET)).json()["access_token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.post(
        "/update-user-sales-history",
        json.dumps(
            {
                "user_id": str(merchant.uuid),
                "history": [
                    {
                        "nit": "900123456-7",
                        "monto": 150000.5,
                        "fecha": "2024-03-01T10:30:00-05:00",
                        "emc": "Postobón",
                    }
                ],
            }
        ),
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["history"][0]["monto"] == 150000.5
    assert SalesHistoryEntry.objects.filter(user=merchant).count() == 1
    # ... and Leancore's read method with the same token.
    read = client.get("/user", {"id": str(merchant.uuid)})
    assert read.json() == response.json()


def test_client_credentials_in_the_form_body(api_client_account):
    response = token_request(
        {"grant_type": "client_credentials", "client_id": "leancore-prod", "client_secret": SECRET}
    )

    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_basic_credentials_form_urlencoded_as_rfc_6749_says(db):
    UserFactory(username="a+b@shop", password="p%ss word:1")

    raw = token_request(authorization=basic("a+b@shop", "p%ss word:1"))
    encoded = token_request(authorization=basic("a%2Bb%40shop", "p%25ss+word%3A1"))

    assert raw.status_code == 200
    assert encoded.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Bearer something",
    ],
)
def test_missing_or_malformed_client_credentials_are_invalid_client(
    api_client_account, authorization
):
    assert_oauth_error(token_request(authorization=authorization), 401, "invalid_client")


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("leancore-prod", "wrong"), ("nobody", SECRET), ("leancore-prod", ""), ("", SECRET)],
)
def test_wrong_client_credentials_are_invalid_client(api_client_account, client_id, secret):
    assert_oauth_error(token_request(authorization=basic(client_id, secret)), 401, "invalid_client")


def test_wrong_secret_in_the_body_is_invalid_client(api_client_account):
    response = token_request(
        {"grant_type": "client_credentials", "client_id": "leancore-prod", "client_secret": "x"}
    )

    assert_oauth_error(response, 401, "invalid_client")


def test_an_inactive_client_is_invalid_client(api_client_account):
    api_client_account.is_active = False
    api_client_account.save()

    assert_oauth_error(
        token_request(authorization=basic("leancore-prod", SECRET)), 401, "invalid_client"
    )


def test_missing_grant_type_is_invalid_request(api_client_account):
    response = token_request({}, authorization=basic("leancore-prod", SECRET))

    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "CLIENT_CREDENTIALS"])
def test_other_grant_types_are_unsupported(api_client_account, grant_type):
    response = token_request(
        {"grant_type": grant_type}, authorization=basic("leancore-prod", SECRET)
    )

    assert_oauth_error(response, 400, "unsupported_grant_type")


def test_a_json_body_is_invalid_request(api_client_account):
    response = token_request(
        {"grant_type": "client_credentials"},
        authorization=basic("leancore-prod", SECRET),
        format="json",
    )

    assert_oauth_error(response, 400, "invalid_request")


def test_credentials_in_both_places_are_invalid_request(api_client_account):
    response = token_request(
        {"grant_type": "client_credentials", "client_id": "leancore-prod", "client_secret": SECRET},
        authorization=basic("leancore-prod", SECRET),
    )

    assert_oauth_error(response, 400, "invalid_request")


def test_the_token_of_a_client_deactivated_later_stops_working(api_client_account):
    token = token_request(authorization=basic("leancore-prod", SECRET)).json()["access_token"]
    api_client_account.is_active = False
    api_client_account.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert client.get("/user", {"id": str(api_client_account.uuid)}).status_code == 401


def test_get_is_not_allowed():
    assert APIClient().get(TOKEN_URL).status_code == 405


# --- simplejwt: /api/token/, /api/token/refresh/, /api/token/verify/ -----------------------------


def test_obtain_refresh_and_verify(api_client_account):
    client = APIClient()

    pair = client.post(
        "/api/token/", {"username": "leancore-prod", "password": SECRET}, format="json"
    )
    assert pair.status_code == 200
    assert set(pair.json()) == {"access", "refresh"}

    refreshed = client.post(
        "/api/token/refresh/", {"refresh": pair.json()["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200
    assert "access" in refreshed.json()

    verified = client.post(
        "/api/token/verify/", {"token": refreshed.json()["access"]}, format="json"
    )
    assert verified.status_code == 200

    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.json()['access']}")
    assert bearer.get("/user", {"id": str(api_client_account.uuid)}).status_code == 200


def test_obtain_accepts_a_form_body(api_client_account):
    response = APIClient().post(
        "/api/token/",
        urlencode({"username": "leancore-prod", "password": SECRET}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200


def test_obtain_with_a_wrong_password_is_a_401(api_client_account):
    response = APIClient().post(
        "/api/token/", {"username": "leancore-prod", "password": "nope"}, format="json"
    )

    assert response.status_code == 401
    assert "error" in response.json()


def test_obtain_without_fields_is_a_400_naming_them(db):
    response = APIClient().post("/api/token/", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}


def test_refresh_with_garbage_is_a_401(db):
    response = APIClient().post("/api/token/refresh/", {"refresh": "garbage"}, format="json")

    assert response.status_code == 401
    assert "error" in response.json()


def test_refresh_for_a_deactivated_user_is_a_401(api_client_account):
    refresh = str(RefreshToken.for_user(api_client_account))
    api_client_account.is_active = False
    api_client_account.save()

    response = APIClient().post("/api/token/refresh/", {"refresh": refresh}, format="json")

    assert response.status_code == 401


def test_refresh_for_a_deleted_user_is_a_401_not_a_500(db):
    user = UserFactory(office=None)
    refresh = str(RefreshToken.for_user(user))
    user.delete()

    response = APIClient().post("/api/token/refresh/", {"refresh": refresh}, format="json")

    assert response.status_code == 401
    assert "error" in response.json()


def test_verify_rejects_an_access_token_signed_elsewhere(db):
    import jwt

    forged = jwt.encode(
        {"token_type": "access", "exp": 4102444800, "jti": "x", "user_id": "1"},
        "another-key-another-key-another-key!",
        algorithm="HS256",
    )

    response = APIClient().post("/api/token/verify/", {"token": forged}, format="json")

    assert response.status_code == 401
