"""Headless Chromium (Playwright) against pytest-django's ``live_server``.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, or ``CHROMIUM_PATH``), never
one downloaded by ``playwright install``. Without it the tests are skipped, saying why.
Every failing test leaves a full-page screenshot in ``artifacts/screenshots/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

# Playwright's sync API runs an asyncio loop in this thread; the ORM calls that the tests
# make to set up data are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures know whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium; "
            "or set CHROMIUM_PATH)"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    """A fresh Spanish-speaking browser tab (``es-PE``, Lima time)."""
    context = browser.new_context(
        locale="es-PE",
        timezone_id=settings.TIME_ZONE,
        viewport={"width": 1280, "height": 900},
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-failure.png"), full_page=True)
    context.close()
