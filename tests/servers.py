"""Start the real server (gunicorn with config/gunicorn.py) for end-to-end tests."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from scripts.processes import manage, manage_env

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    env_overrides: dict[str, str], *, workers: int = 1, ready_path: str = "/healthz", stderr=None
):
    """gunicorn with config/gunicorn.py on a free loopback port; yields the base URL."""
    port = free_port()
    env = manage_env(
        **{
            "GUNICORN_ACCESSLOG": "",
            "LOG_LEVEL": "WARNING",
            **env_overrides,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(workers),
        }
    )
    # A file, not a pipe nobody reads: a long-lived server's log lines would fill a pipe's
    # 64 KiB and then block the worker that writes the next one.
    log = tempfile.TemporaryFile() if stderr is None else None  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [str(GUNICORN), "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log if stderr is None else stderr,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                requests.get(base + ready_path, timeout=2)
                break
            except requests.RequestException:  # not listening yet, or still importing the app
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    detail = ""
                    if log is not None:
                        log.seek(0)
                        detail = log.read().decode(errors="replace")[-3000:]
                    pytest.fail(f"gunicorn did not start: {detail}")
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log is not None:
            log.close()


def server_database_url(tmp_path_factory, django_db_blocker) -> str:
    """A database URL for a server started by a test, on the backend the tests run on.

    PostgreSQL: the session's test database (pytest-django created and migrated it; data a
    test commits there is seen by the server). SQLite: a migrated file of its own (the test
    database is in memory, which another process cannot open).
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        user = settings["USER"] or "postgres"
        password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
        host = settings["HOST"] or "127.0.0.1"
        port = settings["PORT"] or 5432
        name = settings["NAME"]
        if not name.startswith("test_"):  # before pytest-django points the connection at it
            name = connection.creation._get_test_db_name()
        return f"postgres://{user}{password}@{host}:{port}/{name}"
    path = tmp_path_factory.mktemp("server-db") / "server.sqlite3"
    url = f"sqlite:///{path}"
    manage(manage_env(url), "migrate", "--noinput", "-v", "0", timeout=300)
    return url
