"""A database that does not answer is a 503 within the timeout, never a stalled worker.

Through the real server (gunicorn, config/gunicorn.py):

- connecting to a server that accepts the TCP connection and then says nothing (what a
  paused PostgreSQL does: the kernel still completes the handshake) gives up after
  ``DATABASE_CONNECT_TIMEOUT`` seconds: 503 JSON;
- a statement blocked on a lock another connection holds (a long migration, a stuck
  transaction) is cancelled after ``DATABASE_STATEMENT_TIMEOUT_MS``: 503 JSON.

Without the timeouts both requests hang until gunicorn kills the worker (30 s).
"""

from __future__ import annotations

import socket
import time

import psycopg
import pytest
import requests
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from common.errors import DATABASE_UNAVAILABLE
from tests.servers import free_port, gunicorn, server_database_url


def _token(user_id: int = 1) -> str:
    token = AccessToken()
    token["user_id"] = str(user_id)
    return str(token)


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.text[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": DATABASE_UNAVAILABLE}
    assert int(response.headers["Retry-After"]) >= 1


@pytest.fixture(scope="module")
def silent_database():
    """A TCP port that accepts connections (into the backlog) and never answers."""
    port = free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        yield f"postgres://postgres@127.0.0.1:{port}/nothing"


@pytest.mark.server
def test_a_silent_database_is_503_after_the_connect_timeout(silent_database):
    env = {"DATABASE_URL": silent_database, "DATABASE_CONNECT_TIMEOUT": "2"}
    # The health check at start-up needs the database too: wait on the docs page instead.
    with gunicorn(env, ready_path="/api/schema/") as base:
        for path in ("/v1/users.json", "/user?id=00000000-0000-4000-8000-000000000001"):
            started = time.monotonic()
            response = requests.get(
                base + path, headers={"Authorization": f"Bearer {_token()}"}, timeout=15
            )
            assert_unavailable(response)
            assert time.monotonic() - started < 10
        started = time.monotonic()
        response = requests.post(
            base + "/api/token/", json={"username": "a", "password": "b"}, timeout=15
        )
        assert_unavailable(response)
        assert time.monotonic() - started < 10


@pytest.fixture
def pg_server(tmp_path_factory, transactional_db, django_db_blocker):
    """gunicorn on the session's PostgreSQL test database (committed data: it is another
    process), with a short statement timeout."""
    if connection.vendor != "postgresql":
        pytest.skip("statement timeouts are PostgreSQL's")
    url = server_database_url(tmp_path_factory, django_db_blocker)
    with gunicorn({"DATABASE_URL": url, "DATABASE_STATEMENT_TIMEOUT_MS": "1000"}) as base:
        yield base, url


@pytest.mark.server
@pytest.mark.postgres
def test_a_statement_blocked_on_a_lock_is_503_after_the_statement_timeout(pg_server):
    base, url = pg_server
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=False) as other:
        other.execute("LOCK TABLE users_user IN ACCESS EXCLUSIVE MODE")
        try:
            for method, path, kwargs in [
                ("get", "/v1/users.json", {"headers": {"Authorization": f"Bearer {_token()}"}}),
                ("get", "/v1/offices.json", {"headers": {"access_token": _token()}}),
                ("post", "/api/token/", {"json": {"username": "a", "password": "b"}}),
            ]:
                started = time.monotonic()
                response = requests.request(method, base + path, timeout=15, **kwargs)
                assert_unavailable(response)
                assert time.monotonic() - started < 8, path
        finally:
            other.rollback()
    # The lock gone, the same worker answers again (its connection survived the cancel).
    response = requests.get(
        base + "/v1/users.json", headers={"Authorization": f"Bearer {_token()}"}, timeout=10
    )
    assert response.status_code == 401  # no user 1 in this database: the usual answer
