"""Authentication and permissions on /v1/ (SPEC section 2)."""

import datetime as dt
import json
import time

import jwt
import pytest
from django.conf import settings
from jwt.utils import base64url_encode
from rest_framework.test import APIClient
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.api_helpers import (
    assert_error,
    get,
    get_json,
)
from tests.conftest import READ_PERMS, grant, token_for
from tests.factories import DocumentFactory, UserFactory

# Every /v1/ endpoint, and the permission it needs. ``{pk}`` is an existing user (the
# seller), ``{doc}`` a document, ``{office}`` an office, ``{type}`` a document type.
ENDPOINTS = [
    ("/v1/users.json", "users.view_user"),
    ("/v1/users/{pk}.json", "users.view_user"),
    ("/v1/users/count.json", "users.view_user"),
    ("/v1/users/sales_summary.json", "users.view_user"),
    ("/v1/users/{pk}/sales.json", "users.view_user"),
    ("/v1/users/{pk}/returns.json", "users.view_user"),
    ("/v1/offices.json", "offices.view_office"),
    ("/v1/offices/{office}.json", "offices.view_office"),
    ("/v1/offices/count.json", "offices.view_office"),
    ("/v1/document_types.json", "sales.view_documenttype"),
    ("/v1/document_types/{type}.json", "sales.view_documenttype"),
    ("/v1/document_types/count.json", "sales.view_documenttype"),
    ("/v1/documents.json", "sales.view_document"),
    ("/v1/documents/{doc}.json", "sales.view_document"),
    ("/v1/documents/count.json", "sales.view_document"),
]
every_endpoint = pytest.mark.parametrize(("template", "perm"), ENDPOINTS)


@pytest.fixture
def paths(db):
    """Fill the ``ENDPOINTS`` templates with existing objects."""
    document = DocumentFactory()
    ids = {
        "pk": document.user_id,
        "doc": document.pk,
        "office": document.office_id,
        "type": document.document_type_id,
    }
    return lambda template: template.format(**ids)


def client_with(**credentials) -> APIClient:
    client = APIClient()
    client.credentials(**credentials)
    return client


def bearer(token: str) -> APIClient:
    return client_with(HTTP_AUTHORIZATION=f"Bearer {token}")


# --- 401: no or bad credentials -------------------------------------------------------------


@every_endpoint
def test_no_token_is_a_401(paths, template, perm):
    response = get(APIClient(), paths(template))
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _forged(user) -> str:
    """The user's own claims, signed with another key."""
    return jwt.encode(_claims(token_for(user)), "not-the-signing-key-" * 3, "HS256")


def _expired(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-dt.timedelta(seconds=1))
    return str(token)


def _alg_none(user) -> str:
    """The user's own claims, unsigned (``alg: none``)."""
    header = base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    body = base64url_encode(json.dumps(_claims(token_for(user))).encode()).decode()
    return f"{header}.{body}."


def _tampered_payload(user) -> str:
    """A valid signature over another user's claims: the payload swapped, not re-signed."""
    other = UserFactory(is_superuser=True)
    header, _payload, signature = token_for(user).split(".")
    return ".".join([header, token_for(other).split(".")[1], signature])


BAD_TOKENS = {
    "forged signature": _forged,
    "payload swapped": _tampered_payload,
    "expired": _expired,
    "alg none": _alg_none,
    "refresh token used as access": lambda user: str(RefreshToken.for_user(user)),
    "garbage": lambda user: "not-a-jwt",
}


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_ACCESS_TOKEN"])
@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_bad_tokens_are_a_401(reader, kind, header):
    token = BAD_TOKENS[kind](reader)
    value = f"Bearer {token}" if header == "HTTP_AUTHORIZATION" else token
    assert_error(get(client_with(**{header: value}), "/v1/users.json"), 401)


def test_the_forging_helper_really_forges(reader):
    """Guard for the test above: the same claims signed with the real key are accepted."""
    genuine = jwt.encode(_claims(token_for(reader)), settings.SIMPLE_JWT["SIGNING_KEY"], "HS256")
    get_json(bearer(genuine), "/v1/users.json")


@pytest.mark.parametrize(
    "authorization", ["Bearer", "Basic dXNlcjpwYXNz", "Token abc", "Bearer a b"]
)
def test_malformed_authorization_header_is_a_401(db, authorization):
    assert_error(get(client_with(HTTP_AUTHORIZATION=authorization), "/v1/users.json"), 401)


def test_a_token_stops_working_as_soon_as_its_user_is_deactivated(reader):
    client = bearer(token_for(reader))
    get_json(client, "/v1/users.json")
    reader.is_active = False
    reader.save(update_fields=["is_active"])
    assert_error(get(client, "/v1/users.json"), 401)


def test_a_token_of_a_deleted_user_is_a_401(db):
    user = UserFactory(office=None, is_superuser=True)
    client = bearer(token_for(user))
    user.delete()
    assert_error(get(client, "/v1/users.json"), 401)


# --- Both headers work ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials",
    [
        lambda token: {"HTTP_AUTHORIZATION": f"Bearer {token}"},
        lambda token: {"HTTP_ACCESS_TOKEN": token},  # Bsale's ``access_token: <token>``
        lambda token: {"HTTP_ACCESS_TOKEN": f"Bearer {token}"},
    ],
    ids=["authorization-bearer", "access_token", "access_token-with-bearer-prefix"],
)
def test_bearer_and_access_token_headers_both_authenticate(reader, credentials):
    payload = get_json(client_with(**credentials(token_for(reader))), "/v1/users.json")
    assert [item["id"] for item in payload["items"]] == [reader.pk]


# --- 403: authenticated but not allowed -------------------------------------------------------


@every_endpoint
def test_without_the_view_permission_it_is_a_403(paths, template, perm):
    user = UserFactory(office=None)
    grant(user, *(p for p in READ_PERMS if p != perm))  # every read permission but this one
    assert_error(get(bearer(token_for(user)), paths(template)), 403)
    grant(user, perm)
    user = type(user).objects.get(pk=user.pk)  # a fresh object: permissions are cached
    assert get(bearer(token_for(user)), paths(template)).status_code == 200


@every_endpoint
def test_a_superuser_has_every_permission(paths, admin_user, template, perm):
    assert get(bearer(token_for(admin_user)), paths(template)).status_code == 200


def test_staff_without_permissions_is_a_403(db):
    staff = UserFactory(office=None, is_staff=True)
    assert_error(get(bearer(token_for(staff)), "/v1/users.json"), 403)


# --- Methods and unknown paths ----------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "template",
    ["/v1/users.json", "/v1/users/{pk}.json", "/v1/offices.json", "/v1/documents/{doc}.json"],
)
def test_writes_on_read_endpoints_are_a_json_405(paths, auth_client, method, template):
    response = getattr(auth_client, method)(paths(template), {}, format="json")
    assert_error(response, 405)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/nothing.json",
        "/v1/users/abc.json",
        "/v1/users/1/nothing.json",
        "/v1/clients.json",
        "/v1/users.xml",
    ],
)
def test_unknown_v1_paths_are_a_json_404(auth_client, path):
    assert_error(get(auth_client, path), 404)


# --- Obtaining a token --------------------------------------------------------------------------


def test_api_token_gives_a_pair_that_works(db, client):
    user = UserFactory(username="integration", office=None)
    grant(user, "users.view_user")
    response = client.post(
        "/api/token/",
        {"username": "integration", "password": "secret-pass-123"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    pair = response.json()
    assert set(pair) == {"access", "refresh"}
    get_json(bearer(pair["access"]), "/v1/users.json")
    get_json(client_with(HTTP_ACCESS_TOKEN=pair["access"]), "/v1/users.json")


def test_api_token_with_a_wrong_password_is_a_401(db, client):
    UserFactory(username="integration", office=None)
    response = client.post(
        "/api/token/",
        {"username": "integration", "password": "wrong"},
        content_type="application/json",
    )
    assert_error(response, 401)


def test_a_verified_token_stops_working_when_it_expires(reader, monkeypatch):
    """Verified once, a token is not checked again; its expiry still is, on every use."""
    import common.authentication

    token = AccessToken.for_user(reader)
    token.set_exp(lifetime=dt.timedelta(minutes=1))
    client = bearer(str(token))
    get_json(client, "/v1/users.json")
    get_json(client, "/v1/users.json")  # the verified token, from memory
    later = time.time() + 61
    monkeypatch.setattr(common.authentication.time, "time", lambda: later)
    monkeypatch.setattr(  # simplejwt's own clock, for the full validation that follows
        simplejwt_tokens,
        "aware_utcnow",
        lambda: dt.datetime.fromtimestamp(later, tz=dt.UTC),
    )
    assert_error(get(client, "/v1/users.json"), 401)
