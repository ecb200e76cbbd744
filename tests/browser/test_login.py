"""Getting in, in a real browser: the token link, the password form, and a session that ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

import nodepipe
from api.live import server_process
from browser.conftest import Served

PASSWORD = "a long server password"
NEEDS_TOKEN = "This nodepipe server needs its token"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Served]:
    """A served workspace whose browsers may log in with ``PASSWORD``."""
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("baseline")
    ws.servers.set_password(PASSWORD)
    with server_process(ws.root, tmp_path / "server.log") as live:
        yield Served(live, ws)
    ws.close()


def expect_app(page: Page) -> None:
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")


def test_without_the_link_the_login_page_with_it_the_app_through_a_cookie(
    page: Page, served: Served
) -> None:
    page.goto(f"{served.url}/")
    expect(page.get_by_role("heading", name=NEEDS_TOKEN)).to_be_visible()
    expect(page.get_by_label("Password")).to_have_count(0)  # no password on this server
    page.goto(served.link)
    expect_app(page)
    assert "token" not in page.url
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert served.live.token not in cookie["value"]


def test_a_browser_logs_in_with_the_password(page: Page, guarded: Served) -> None:
    page.goto(f"{guarded.url}/")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong password.")
    assert page.context.cookies() == []
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect_app(page)


def test_when_the_session_ends_the_app_shows_the_login_page(page: Page, served: Served) -> None:
    page.goto(served.link)
    expect_app(page)
    page.context.clear_cookies()  # as when the server restarts with another token
    notes = httpx.patch(  # a change elsewhere: the page hears of it and reloads its data
        f"{served.url}/api/pipelines/baseline", json={"notes": "n"}, headers=served.headers
    )
    assert notes.is_success
    expect(page.get_by_role("heading", name=NEEDS_TOKEN)).to_be_visible()
