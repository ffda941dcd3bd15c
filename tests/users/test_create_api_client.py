"""``manage.py create_api_client NAME [--days N] [--password ...] [--rotate-secret]``."""

import base64
import re
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import UserFactory
from users.models import User
from users.services import API_CLIENT_PERMISSIONS

pytestmark = pytest.mark.django_db


def run(*args) -> dict[str, str]:
    out = StringIO()
    call_command("create_api_client", *args, stdout=out)
    text = out.getvalue()
    return dict(re.findall(r"^(client_id|client_secret|access_token|expires): (.*)$", text, re.M))


def test_creates_an_integration_account_and_prints_a_working_token():
    printed = run("bsale-sync")

    user = User.objects.get(username="bsale-sync")
    assert printed["client_id"] == "bsale-sync"
    assert user.is_active and not user.is_staff and not user.is_superuser
    assert user.check_password(printed["client_secret"])
    assert len(printed["client_secret"]) >= 40
    assert user.has_perms(API_CLIENT_PERMISSIONS)
    assert not user.has_perm("users.change_user")
    token = AccessToken(printed["access_token"])
    assert str(token["user_id"]) == str(user.pk)
    assert token["exp"] - token["iat"] == 86400  # one day by default

    client = APIClient()
    client.credentials(HTTP_ACCESS_TOKEN=printed["access_token"])
    assert client.get("/user", {"id": str(UserFactory().uuid)}).status_code == 200
    merchant = UserFactory()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {printed['access_token']}")
    response = client.post(
        "/update-user-sales-history",
        {"user_id": str(merchant.uuid), "history": []},
        format="json",
    )
    assert response.status_code == 200


@pytest.mark.parametrize("days", ["30", "365", "3650"])
def test_the_token_lifetime_is_configurable_in_days(days):
    printed = run("long-lived", "--days", days)

    token = AccessToken(printed["access_token"])
    assert token["exp"] - token["iat"] == int(days) * 86400
    assert f"({days} days)" in printed["expires"]


def test_the_secret_gets_tokens_from_oauth2_token():
    printed = run("leancore")
    credentials = base64.b64encode(f"leancore:{printed['client_secret']}".encode()).decode()

    response = APIClient().post(
        "/oauth2/token",
        urlencode({"grant_type": "client_credentials"}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )

    assert response.status_code == 200
    assert response.json()["expires_in"] == 3600


def test_a_given_password_is_the_secret():
    printed = run("given", "--password", "a-Long-enough-secret-42")

    assert printed["client_secret"] == "a-Long-enough-secret-42"
    assert User.objects.get(username="given").check_password("a-Long-enough-secret-42")


def test_running_again_updates_and_keeps_the_secret_unless_asked():
    first = run("sync")
    user = User.objects.get(username="sync")
    user.is_active = False
    user.user_permissions.clear()
    user.save()

    again = run("sync", "--days", "2")

    user = User.objects.get(username="sync")
    assert User.objects.filter(username="sync").count() == 1
    assert user.is_active
    assert User.objects.get(pk=user.pk).has_perms(API_CLIENT_PERMISSIONS)
    assert user.check_password(first["client_secret"])
    assert "unchanged" in again["client_secret"]
    assert str(AccessToken(again["access_token"])["user_id"]) == str(user.pk)

    rotated = run("sync", "--rotate-secret")
    user.refresh_from_db()
    assert not user.check_password(first["client_secret"])
    assert user.check_password(rotated["client_secret"])


def test_refuses_to_turn_a_staff_account_into_an_api_client():
    UserFactory(username="boss", is_staff=True, password="old-password-123")

    with pytest.raises(CommandError, match="staff account"):
        run("boss")

    assert User.objects.get(username="boss").check_password("old-password-123")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["", "--days", "1"], "must not be empty"),
        (["   "], "must not be empty"),
        (["bad name!"], "Invalid client name"),
        (["x" * 151], "at most 150"),
        (["ok", "--days", "0"], "--days must be a positive"),
        (["ok", "--days", "-3"], "--days must be a positive"),
        (["ok", "--days", "100000"], "--days must be at most"),
        (["ok", "--days", "one"], "invalid int value"),
        (["ok", "--password", ""], "--password must not be empty"),
        (["ok", "--password", "123"], "--password"),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)

    assert not User.objects.filter(username="ok").exists()
