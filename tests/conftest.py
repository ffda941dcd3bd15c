import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from common import auth_cache
from sales import summary_cache
from tests.factories import UserFactory

READ_PERMS = [
    "users.view_user",
    "offices.view_office",
    "sales.view_documenttype",
    "sales.view_document",
]


def grant(user, *perms: str) -> None:
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def token_for(user) -> str:
    return str(AccessToken.for_user(user))


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def reader(db):
    """An API client account with every read permission."""
    user = UserFactory(username="reader", office=None)
    grant(user, *READ_PERMS)
    return user


@pytest.fixture
def auth_client(reader):
    """An APIClient authenticated as ``reader`` with a Bearer token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(reader)}")
    return client


@pytest.fixture
def admin_user(db):
    return UserFactory(username="boss", is_staff=True, is_superuser=True, office=None)


@pytest.fixture
def staff_client(client, admin_user):
    """Django's test client logged into the admin as a superuser."""
    client.force_login(admin_user)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Factories hash a password per user; the real hasher is slow by design."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache: no test inherits another's budget (nor this
    process's copies of authentication entries, which only the cache's stamps validate, nor
    its summaries served again)."""
    cache.clear()
    auth_cache._local_entries.clear()
    summary_cache.clear()
    yield
    cache.clear()
    auth_cache._local_entries.clear()
    summary_cache.clear()
