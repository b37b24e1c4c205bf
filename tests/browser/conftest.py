"""Browser fixtures: Debian's chromium, driven by Playwright's sync API, against a real uvicorn
server (in a thread) on the test's database and the test's adjustable clock.

The browser tests run on SQLite only. They exercise the UI; the API underneath is covered on
both back ends by the API tests, so a second run would double their time for no new facts. There
is also a technical reason: while Playwright's sync API has a browser open it keeps its own event
loop registered as the main thread's running loop, so the PostgreSQL ``database`` fixture's
``asyncio.run`` (CREATE DATABASE … TEMPLATE) cannot run inside this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    sync_playwright,
)
from starlette.applications import Starlette

from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: Not Beijing, so a page that showed times in the browser's own zone would be caught.
BROWSER_TIMEZONE = "America/Los_Angeles"


@pytest.fixture
def backend() -> str:
    """Overrides the two-back-end parameter of tests/conftest.py: SQLite only (see above)."""
    return "sqlite"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test-deps)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def web_app(settings: Settings, clock: AdjustableClock) -> Starlette:
    """The app the browser talks to (``web_app.state.services``: its keys, clock, database)."""
    return create_app(settings, clock=clock, run_scheduler=False)


@pytest.fixture
def server(web_app: Starlette) -> Iterator[InProcessServer]:
    with InProcessServer(web_app) as running:
        yield running


@pytest.fixture
def context(browser: Browser, server: InProcessServer) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=server.url,
        locale="zh-CN",
        timezone_id=BROWSER_TIMEZONE,
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails the test on any script error or Content-Security-Policy violation.

    Console errors about failed resource loads are the HTTP errors a test provokes on purpose
    (a refused login answers 401); everything else in the console at error level is a bug.
    """
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))

    def on_dialog(dialog: Dialog) -> None:  # nothing in the UI opens one: a sign of injection
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield page
    page.close()
    assert problems == []
