"""Browser tests: Playwright driving the system Chromium (headless) against a real server.

Chromium comes from Debian's package (``make test`` installs it); nothing is downloaded.
When it is missing, or the web app is not built, every browser test fails with the reason:
these tests never skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

import nodepipe
from api.live import LiveServer, server_process
from nodepipe.api.static_files import is_built

# CI shares 2 cores between these tests, the server under test and the rest of the suite: let
# assertions wait longer than Playwright's 5 s default before they fail (same checks, more time).
expect.set_options(timeout=20_000)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def launch(playwright: Playwright) -> Browser:
    """The system Chromium, headless; a clear failure when it or the web build is missing."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: install it with "
            "`apt-get update && apt-get install -y chromium` (make test does this)"
        )
    if not is_built():
        pytest.fail("the web app is not built: run `make web` (npm ci && npm run build in web/)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@dataclass
class Served:
    live: LiveServer
    workspace: nodepipe.Workspace

    @property
    def url(self) -> str:
        return self.live.url

    @property
    def link(self) -> str:
        """The address to open first: the token link, as the server printed it."""
        return self.live.link

    @property
    def headers(self) -> dict[str, str]:
        """What an API call from the test (not from the page) sends: the token."""
        return self.live.headers


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A workspace with project ``climate`` and an empty pipeline ``baseline``, served."""
    ws = nodepipe.init(tmp_path / "lab")
    ws.projects.new("climate")
    ws.pipelines.new("baseline", project="climate")
    with server_process(ws.root, tmp_path / "server.log") as live:
        yield Served(live, ws)
    ws.close()


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Path]:
    """The file a gated node waits for (browser/gates.py): the test creates it when it has seen
    what it wanted mid-run; created at the end in any case, so no node is left waiting."""
    path = tmp_path / "gate"
    yield path
    path.touch()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page; console errors fail the test; a failing test leaves a screenshot."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def on_console(message: ConsoleMessage) -> None:
        # A sandboxed HTML report's script being blocked is the sandbox working, not an error;
        # so is the app refusing to be framed by another page (test_login.py).
        expected = ("Failed to load resource", "Blocked script execution", "frame-ancestors 'none'")
        if message.type == "error" and not any(text in message.text for text in expected):
            errors.append(message.text)

    page.on("console", on_console)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        page.screenshot(path=ARTIFACTS / f"failed-{request.node.name}.png")
    context.close()
    assert errors == [], f"the page logged errors: {errors}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
