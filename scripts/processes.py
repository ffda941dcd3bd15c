"""``manage.py`` in a subprocess, and PostgreSQL's admin connection: the one copy that
bench/, scripts/ and tests/ share.

Importable as ``scripts.processes`` with the repository on ``sys.path``: ``python -m
bench`` and pytest have it there; a script run as a file (``python scripts/soak.py``)
puts it there first.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOOPBACK = {"127.0.0.1", "localhost", "::1", ""}
STDERR_TAIL = 3000  # characters of a failed command's stderr in the error


class ManageError(subprocess.CalledProcessError):
    """``manage.py`` ended with a non-zero status; the message ends with its stderr."""

    def __str__(self) -> str:
        command = " ".join(str(arg) for arg in self.cmd[1:])  # manage.py ARGS, without python
        if self.stderr is None:
            return f"{command} failed (exit {self.returncode}); its output is above."
        tail = self.stderr[-STDERR_TAIL:]
        return f"{command} failed (exit {self.returncode}):\n{tail}"


def manage_env(database_url: str | None = None, **overrides: str) -> dict[str, str]:
    """This process's environment for a child ``manage.py``: ``DATABASE_URL`` and the
    overrides set, and no ``DJANGO_SETTINGS_MODULE`` (pytest's would win over the URL's)."""
    env = {**os.environ, **overrides}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def run_manage(
    env: dict,
    *args: str,
    capture: bool = True,
    timeout: float | None = 600,
    check: bool = True,
    **kwargs,
) -> subprocess.CompletedProcess:
    """``python manage.py ARGS`` in the repository with ``env``; text output captured
    unless ``capture`` is false (then it goes to this process's terminal). With ``check``,
    a non-zero status raises ``ManageError``."""
    if capture:
        kwargs.update(capture_output=True, text=True)
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, timeout=timeout, **kwargs
    )
    if check and result.returncode:
        raise ManageError(result.returncode, result.args, result.stdout, result.stderr)
    return result


def start_manage(env: dict, *args: str, **kwargs) -> subprocess.Popen:
    """``manage.py ARGS`` started and left running (a worker, a command read as a pipe)."""
    return subprocess.Popen([PYTHON, "manage.py", *args], cwd=ROOT, env=env, **kwargs)


def manage(env: dict, *args: str, timeout: float | None = 600) -> str:
    """``run_manage`` for its standard output (a failure raises ``ManageError``)."""
    return run_manage(env, *args, timeout=timeout).stdout


def exit_with(main) -> None:
    """A script's ``sys.exit(main())``; a ``manage.py`` step that failed ends it with
    its message and stderr, not a traceback."""
    try:
        code = main()
    except ManageError as exc:
        raise SystemExit(str(exc)) from None
    sys.exit(code)


# --- PostgreSQL ---------------------------------------------------------------------------


def require_loopback_database(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.startswith("postgres") and (parts.hostname or "") not in LOOPBACK:
        raise SystemExit(f"Refusing a non-local database: {parts.hostname}")


def admin_connection(url: str):
    """An autocommit connection to the ``postgres`` database of ``url``'s server (CREATE
    and DROP DATABASE cannot run in a transaction, nor in the database they name)."""
    import psycopg

    admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    return psycopg.connect(admin_url, autocommit=True, connect_timeout=10)


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def ensure_database(url: str) -> bool:
    """Create ``url``'s database unless it exists; True when it was created."""
    name = database_name(url)
    with admin_connection(url) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
        return True


@contextlib.contextmanager
def throwaway_database(base_url: str | None, prefix: str):
    """A fresh database URL: a temp SQLite file, or a new PostgreSQL database on
    ``base_url``'s (local) server, dropped at the end."""
    if not base_url or base_url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'db.sqlite3'}"
        return
    require_loopback_database(base_url)
    name = f"{prefix}_{os.getpid()}_{int(time.time())}"
    with admin_connection(base_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(base_url)._replace(path=f"/{name}"))
    finally:
        with admin_connection(base_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
