"""The token endpoints refuse a token that can no longer be used, and every door answers a
token with impossible time claims with a 401, never a 500 (SPEC section 2)."""

from __future__ import annotations

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.api_helpers import assert_error
from tests.conftest import READ_PERMS, grant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REFRESH = "/api/token/refresh/"
VERIFY = "/api/token/verify/"


@pytest.fixture
def account(db):
    user = UserFactory(office=None)
    grant(user, *READ_PERMS)
    return user


def post(url: str, body: dict):
    return APIClient().post(url, body, format="json")


def password_changed(user) -> None:
    user.set_password("another-secret-of-42-characters")
    user.save()


def deactivated(user) -> None:
    user.is_active = False
    user.save()


def deleted(user) -> None:
    user.delete()


LOSSES = {"password changed": password_changed, "inactive": deactivated, "deleted": deleted}


def test_fresh_tokens_refresh_and_verify(account):
    refresh = RefreshToken.for_user(account)
    response = post(REFRESH, {"refresh": str(refresh)})
    assert response.status_code == 200, response.content
    access = response.json()["access"]
    assert post(VERIFY, {"token": access}).status_code == 200
    assert post(VERIFY, {"token": str(refresh)}).status_code == 200
    reply = APIClient().get("/v1/users/count.json", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert reply.status_code == 200


@pytest.mark.parametrize("lose", list(LOSSES), ids=list(LOSSES))
def test_refresh_refuses_a_token_its_user_can_no_longer_use(account, lose):
    refresh = str(RefreshToken.for_user(account))
    LOSSES[lose](account)
    assert_error(post(REFRESH, {"refresh": refresh}), 401)


@pytest.mark.parametrize("lose", list(LOSSES), ids=list(LOSSES))
@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_verify_refuses_a_token_its_user_can_no_longer_use(account, lose, kind):
    token_class = AccessToken if kind == "access" else RefreshToken
    token = str(token_class.for_user(account))
    LOSSES[lose](account)
    assert_error(post(VERIFY, {"token": token}), 401)


def signed(account, *, kind: str = "access", **claims) -> str:
    """The account's own token with some claims replaced, signed with the real key."""
    payload = dict(RefreshToken.for_user(account).payload)
    payload["token_type"] = kind
    payload.update(claims)
    return jwt.encode(payload, settings.SIMPLE_JWT["SIGNING_KEY"], "HS256")


ODD_CLAIMS = {
    "exp=1e20": {"exp": 1e20},
    "exp=10**30": {"exp": 10**30},
    "exp=-1e20": {"exp": -1e20},
    "exp not a number": {"exp": "tomorrow"},
    "iat=1e20": {"iat": 1e20},
    "nbf=1e20": {"nbf": 1e20},
    "user_id a word": {"user_id": "abc"},
    "user_id an object": {"user_id": {"id": 1}},
    "user_id with NUL": {"user_id": "1\x00"},
    "user_id beyond 64 bits": {"user_id": 10**30},
}


@pytest.mark.parametrize("claims", list(ODD_CLAIMS), ids=list(ODD_CLAIMS))
def test_odd_claims_are_a_401_on_every_door(account, claims):
    access = signed(account, **ODD_CLAIMS[claims])
    refresh = signed(account, kind="refresh", **ODD_CLAIMS[claims])
    client = APIClient()
    assert_error(client.get("/v1/users.json", HTTP_AUTHORIZATION=f"Bearer {access}"), 401)
    assert_error(client.get("/v1/users/1.json", HTTP_ACCESS_TOKEN=access), 401)
    assert_error(client.get("/user", {"id": str(account.uuid)}, HTTP_ACCESS_TOKEN=access), 401)
    assert_error(post(REFRESH, {"refresh": refresh}), 401)
    assert_error(post(VERIFY, {"token": access}), 401)
    assert_error(post(VERIFY, {"token": refresh}), 401)
