"""The bench's admin pages (bench/admin_pages.py) run on a small seeded database: every page
answers 200, and the table and the targets have a row per page."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from bench import admin_pages
from bench.run import prepare_fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def params():
    call_command(
        "seed_demo",
        offices=3,
        users=30,
        sellers=4,
        documents=300,
        history=40,
        no_progress=True,
        stdout=StringIO(),
        stderr=StringIO(),
    )
    return prepare_fixtures()


def test_every_admin_page_is_measured(params, capsys, monkeypatch):
    monkeypatch.setattr(admin_pages, "LATER_PAGE", 3)  # of 6
    results = admin_pages.measure(params, runs=2)
    expected = [page.key for page in admin_pages.pages(params)]
    assert list(results) == expected
    for key, result in results.items():
        assert result["status"] == 200, (key, result["path"])
        assert len(result["runs_ms"]) == 2
        assert result["p50_ms"] <= result["max_ms"]
        assert result["queries"] > 0

    admin_pages.print_table(results, runs=2)
    table = capsys.readouterr().out
    for result in results.values():
        assert result["title"] in table
    targets = admin_pages.targets(results)
    assert [t["target"] for t in targets] == [f"admin {key}: p50" for key in expected]
    assert all(t["required"] == "<= 300 ms" for t in targets)


def test_only_the_chosen_pages(params):
    results = admin_pages.measure(params, runs=1, keys={"search_number", "day"})
    assert set(results) == {"search_number", "day"}
