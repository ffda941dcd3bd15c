"""A real Bsale-speaking source for the mirror's tests: this project's own /v1/,
served by gunicorn over its own SQLite file, seeded, with an API client's token."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import requests

from scripts.processes import manage, manage_env
from tests.servers import gunicorn


def migrated_with_client(database_url: str, name: str, *, days: int = 2, seed: tuple = ()) -> str:
    """Migrate ``database_url`` (and ``seed_demo`` it with ``seed``'s options, if any);
    returns the access token of a new API client called ``name``."""
    env = manage_env(database_url, LOG_LEVEL="WARNING")
    manage(env, "migrate", "--noinput", "-v", "0")
    if seed:
        manage(env, "seed_demo", *seed, "--no-progress")
    out = manage(env, "create_api_client", name, "--days", str(days))
    return next(
        line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("access_token: ")
    )


@dataclass
class Source:
    url: str
    token: str
    database_url: str
    path: Path

    def sql(self, statement: str, params: tuple = ()) -> list:
        """Change the source's data behind its back (what Bsale's users do)."""
        with contextlib.closing(sqlite3.connect(self.path)) as connection, connection:
            return connection.execute(statement, params).fetchall()


def prepare_source(directory: Path, *, documents: int = 300) -> tuple[str, str, Path]:
    path = directory / "source.sqlite3"
    database_url = f"sqlite:///{path}"
    seed = ("--offices", "3", "--users", "30", "--documents", str(documents), "--history", "5")
    token = migrated_with_client(database_url, "mirror-reader", seed=seed)
    return database_url, token, path


@contextlib.contextmanager
def serve_source(directory: Path, *, documents: int = 300):
    database_url, token, path = prepare_source(directory, documents=documents)
    with gunicorn({"DATABASE_URL": database_url}) as base:
        yield Source(url=base, token=token, database_url=database_url, path=path)


def walk(get, url: str) -> list[dict]:
    """Every item of a Bsale list, through ``next``."""
    items = []
    while url:
        page = get(url)
        items.extend(page["items"])
        url = page.get("next")
    return items


def source_getter(source: Source):
    session = requests.Session()
    session.headers["access_token"] = source.token

    def get(url: str) -> dict:
        if url.startswith("/"):
            url = source.url + url
        response = session.get(url, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    return get


def summary_path() -> str:
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=400)
    to_unix = lambda day: (day - dt.date(1970, 1, 1)).days * 86400  # noqa: E731
    return f"/v1/users/sales_summary.json?startdate={to_unix(start)}&enddate={to_unix(today + dt.timedelta(days=1))}"
