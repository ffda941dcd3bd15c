"""End to end through the real server that ``make run`` and production use (gunicorn).

Bsale clients send ``access_token: <jwt>``. gunicorn drops header names with
underscores by default, so only a test through gunicorn itself, with the project's
config/gunicorn.py, proves the header reaches Django.
"""

import socket
import sqlite3

import pytest
import redis
import requests

from scripts.processes import manage, manage_env
from tests.common.test_auth_cache import TEST_REDIS_URL, redis_answers
from tests.servers import gunicorn

MAKE_TOKEN = """
from django.contrib.auth.models import Permission
from rest_framework_simplejwt.tokens import AccessToken
from users.models import User
user = User.objects.create_user("bsale-client", password="x-secret-123")
user.user_permissions.add(Permission.objects.get(codename="view_user"))
print(AccessToken.for_user(user))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn with config/gunicorn.py on a free loopback port, over its own SQLite file."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('server') / 'server.sqlite3'}"
    env = manage_env(database_url)
    manage(env, "migrate", "--noinput", "-v", "0", timeout=120)
    token = manage(env, "shell", "-c", MAKE_TOKEN, timeout=120).strip().splitlines()[-1]
    with gunicorn({"DATABASE_URL": database_url}) as base:
        yield base, token


@pytest.mark.server
def test_access_token_header_reaches_django_through_gunicorn(server):
    base, token = server
    response = requests.get(f"{base}/v1/users.json", headers={"access_token": token}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 1


@pytest.mark.server
def test_bearer_header_through_gunicorn(server):
    base, token = server
    headers = {"Authorization": f"Bearer {token}"}
    response = requests.get(f"{base}/v1/users/count.json", headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"count": 1}


@pytest.mark.server
def test_no_token_through_gunicorn_is_401_json(server):
    base, _token = server
    response = requests.get(f"{base}/v1/users.json", timeout=10)
    assert response.status_code == 401
    assert "error" in response.json()


@pytest.mark.server
def test_both_spellings_of_the_header_are_refused(server):
    """``Access-Token`` and ``access_token`` map to one variable: gunicorn joins them,
    so a client cannot make one value pass for the other; the joined value is no token."""
    base, token = server
    raw = (
        f"GET /v1/users.json HTTP/1.1\r\nHost: 127.0.0.1\r\nAccess-Token: {token}\r\n"
        f"access_token: forged\r\nConnection: close\r\n\r\n"
    ).encode()
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 401"), reply[:200]


@pytest.mark.server
def test_healthz_through_gunicorn(server):
    base, _token = server
    response = requests.get(f"{base}/healthz", timeout=10)
    assert response.json() == {"status": "ok", "database": "up"}


# --- The authentication cache across processes ---------------------------------------------------

SHELL_DEACTIVATE = (
    "from users.models import User;"
    " User.objects.filter(username='bsale-client').update(is_active=False)"
)
SHELL_REACTIVATE = (
    "from users.models import User; user = User.objects.get(username='bsale-client');"
    " user.is_active = True; user.save()"
)


def _statuses(base: str, token: str, times: int = 12) -> set[int]:
    # A new connection per request: gunicorn hands them to either worker.
    return {
        requests.get(
            f"{base}/v1/users/count.json", headers={"access_token": token}, timeout=10
        ).status_code
        for _ in range(times)
    }


@pytest.mark.server
@pytest.mark.skipif(not redis_answers(), reason=f"no Redis at {TEST_REDIS_URL}")
def test_every_worker_locks_out_an_account_deactivated_by_another_process(tmp_path):
    """Two workers cache the token's user in Redis; a shell in another process deactivates
    it (a queryset update, which sends no signal of its own): the next requests are 401."""
    database = tmp_path / "server.sqlite3"
    overrides = {
        "DATABASE_URL": f"sqlite:///{database}",
        "REDIS_URL": TEST_REDIS_URL,
        "AUTH_CACHE_SECONDS": "300",  # long: only the invalidation can explain a 401
        "API_THROTTLE_RATE": "off",
    }
    env = manage_env(**overrides)
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()  # the tests' own Redis database
    manage(env, "migrate", "--noinput", "-v", "0", timeout=120)
    token = manage(env, "shell", "-c", MAKE_TOKEN, timeout=120).strip().splitlines()[-1]
    with gunicorn(overrides, workers=2) as base:
        assert _statuses(base, token) == {200}
        # The cache is really used: a change that bypasses Django is not seen...
        with sqlite3.connect(database) as db:
            db.execute("UPDATE users_user SET is_active = 0 WHERE username = 'bsale-client'")
        assert _statuses(base, token) == {200}
        with sqlite3.connect(database) as db:
            db.execute("UPDATE users_user SET is_active = 1 WHERE username = 'bsale-client'")
        # ...while one made through Django, in another process, counts at once.
        manage(env, "shell", "-c", SHELL_DEACTIVATE, timeout=120)
        assert _statuses(base, token) == {401}
        manage(env, "shell", "-c", SHELL_REACTIVATE, timeout=120)
        assert _statuses(base, token) == {200}
