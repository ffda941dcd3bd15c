"""The admin's pages, timed in-process: ``python -m bench --only admin`` (and after the HTTP
scenarios of a full ``make bench``).

Server time: how long Django takes to produce a page's full response (middleware, the view,
the template rendered), through ``django.test.Client`` logged in as a superuser on the
bench's database; no network, no gunicorn. Each page runs once to warm up (templates,
connection), then ``runs`` times: p50 and max, the page's SQL queries (every ``execute``
on the default connection, counted as for ``X-Query-Count``) and its status.

The pages: the documents changelist unfiltered, far down (page 100), filtered by state,
drilled down to the dataset's last year, month and day, searched by a folio number and by
a seller's username; the sales history changelist; the sales summary page over 365 days;
and the admin index with its sales dashboard. The target is the issue's: every admin page
under 300 ms server time.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.run import Params

ADMIN_USERNAME = "bench-admin"
TARGET_MS = 300
DEFAULT_RUNS = 7
LATER_PAGE = 100  # the changelist far from its first page (50 documents a page)


@dataclass(frozen=True)
class AdminPage:
    key: str
    title: str
    path: str


def pages(params: Params) -> list[AdminPage]:
    """The pages, from the run's parameters: its last day, its 365 days and its seller."""
    from sales.models import Document
    from users.models import User

    end = params.end
    docs = "/admin/sales/document/"
    year = f"emission_date__year={end.year}"
    month = f"{year}&emission_date__month={end.month}"
    # The newest folio: a search that finds one document.
    number = Document.objects.order_by("-id").values_list("number", flat=True).first()
    username = User.objects.filter(pk=params.seller_id).values_list("username", flat=True).get()
    return [
        AdminPage("changelist", "documents changelist", docs),
        AdminPage("later_page", f"documents page {LATER_PAGE}", f"{docs}?p={LATER_PAGE}"),
        AdminPage("state", "documents state=1 (void)", f"{docs}?state__exact=1"),
        AdminPage("year", f"documents drill-down {end.year}", f"{docs}?{year}"),
        AdminPage("month", f"documents drill-down {end:%Y-%m}", f"{docs}?{month}"),
        AdminPage(
            "day",
            f"documents drill-down {end:%Y-%m-%d}",
            f"{docs}?{month}&emission_date__day={end.day}",
        ),
        AdminPage("search_number", "documents search folio number", f"{docs}?q={number}"),
        AdminPage("search_seller", "documents search seller username", f"{docs}?q={username}"),
        AdminPage("history", "sales history changelist", "/admin/sales/saleshistoryentry/"),
        AdminPage(
            "summary_365",
            "sales summary page 365 days",
            f"/admin/sales/document/summary/?start={params.start365}&end={end}",
        ),
        AdminPage("index", "admin index (dashboard)", "/admin/"),
    ]


def admin_user():
    """The bench's superuser (no usable password: the client logs it in directly)."""
    from users.models import User

    user, _ = User.objects.get_or_create(
        username=ADMIN_USERNAME,
        defaults={"first_name": "Bench", "last_name": "Admin", "office": None},
    )
    if not (user.is_staff and user.is_superuser and user.is_active) or user.has_usable_password():
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_unusable_password()
        user.save()
    return user


def timed_get(client, path: str) -> tuple[int, int, float]:
    """One request: its status, its SQL queries and its milliseconds."""
    from bench.middleware import QueryCounter

    with QueryCounter() as queries:
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
    return response.status_code, queries.count, elapsed


def measure(params: Params, runs: int = DEFAULT_RUNS, keys: set[str] | None = None) -> dict:
    """Every page (or those in ``keys``): one warm-up, then ``runs`` timed requests."""
    from django.test import Client

    runs = max(1, runs)
    client = Client()
    client.force_login(admin_user())
    access = logging.getLogger("salesdesk.access")
    level = access.level
    # One JSON access line per request would bury the table (each costs microseconds).
    access.setLevel(logging.WARNING)
    results = {}
    try:
        for page in pages(params):
            if keys is not None and page.key not in keys:
                continue
            timed_get(client, page.path)
            times, status, queries = [], 0, 0
            for _ in range(runs):
                status, queries, elapsed = timed_get(client, page.path)
                times.append(elapsed)
            results[page.key] = {
                "title": page.title,
                "path": page.path,
                "status": status,
                "queries": queries,
                "runs_ms": [round(t, 2) for t in times],
                "p50_ms": statistics.median(times),
                "max_ms": max(times),
            }
    finally:
        access.setLevel(level)
        client.logout()
    return results


def targets(results: dict) -> list[dict]:
    """``admin <page>: p50 <= 300 ms`` per page (a page that did not answer 200 fails)."""
    return [
        {
            "target": f"admin {key}: p50",
            "measured": f"{r['p50_ms']:.2f} ms",
            "required": f"<= {TARGET_MS} ms",
            "ok": r["status"] == 200 and r["p50_ms"] <= TARGET_MS,
        }
        for key, r in results.items()
    ]


def print_table(results: dict, runs: int) -> None:
    header = (
        f"{'admin page (server time, in-process)':<40} {'p50 ms':>8} {'max ms':>8}"
        f" {'queries':>7} {'status':>6}"
    )
    print()
    print(f"admin pages: p50 and max of {runs} runs after one warm-up")
    print(header)
    print("-" * len(header))
    for r in results.values():
        print(
            f"{r['title']:<40} {r['p50_ms']:>8.2f} {r['max_ms']:>8.2f}"
            f" {r['queries']:>7} {r['status']:>6}"
        )
    print()
