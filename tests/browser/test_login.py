"""Getting in, in a real browser: the token link, the password form, a session that ends, and
no credential for another user's server on another port of the same host."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

import nodepipe
from api.live import server_process
from browser.conftest import Served
from support.waiting import wait_for

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


def stored_credential(page: Page) -> str | None:
    value: str | None = page.evaluate("sessionStorage.getItem('nodepipe.credential')")
    return value


@dataclass
class Recorded:
    """What the browser sent to the recording server: paths and headers of each request."""

    url: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def everything(self) -> str:
        return "\n".join(f"{path} {headers}" for path, headers in self.requests)


@pytest.fixture
def other_server() -> Iterator[Recorded]:
    """Another OS user's server on 127.0.0.1, another port: it records what browsers send it."""
    recorded = Recorded("")

    class Recording(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            recorded.requests.append((self.path, dict(self.headers.items())))
            body = b"<!doctype html><title>elsewhere</title><h1>Bob's server</h1>"
            if self.path.startswith("/frame?"):  # the app of the server it names, in a frame
                framed = self.path.split("?", 1)[1].encode()
                body += b'<iframe src="' + framed + b'" width="800" height="600"></iframe>'
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recording)
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield recorded
    server.shutdown()
    server.server_close()
    thread.join()


def test_without_the_link_the_login_screen_with_it_the_app_and_no_cookie(
    page: Page, served: Served
) -> None:
    page.goto(f"{served.url}/")
    expect(page.get_by_role("heading", name=NEEDS_TOKEN)).to_be_visible()
    expect(page.get_by_label("Password")).to_have_count(0)  # no password on this server
    page.goto(served.link + "#pipeline=baseline")
    expect_app(page)
    assert "token" not in page.url and "?" not in page.url and "#pipeline=" in page.url
    assert served.live.token not in str(page.evaluate("history.state")) + page.url
    assert page.context.cookies() == []
    assert stored_credential(page) == served.live.token


def test_a_browser_logs_in_with_the_password(page: Page, guarded: Served) -> None:
    page.goto(f"{guarded.url}/")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong password.")
    assert stored_credential(page) is None
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect_app(page)
    assert page.context.cookies() == []


def test_another_users_server_on_another_port_gets_no_credential_of_this_one(
    page: Page, guarded: Served, other_server: Recorded
) -> None:
    page.goto(f"{guarded.url}/")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect_app(page)

    # Alice follows Bob's link: same host, another port, same tab and browser context.
    page.goto(f"{other_server.url}/look?at=this")
    expect(page.get_by_role("heading", name="Bob's server")).to_be_visible()
    assert other_server.requests, "the browser reached the other server"
    cookies = [
        h
        for _, headers in other_server.requests
        for k, h in headers.items()
        if k.lower() == "cookie"
    ]
    assert cookies == [] and page.context.cookies() == []
    assert guarded.live.token not in other_server.everything()

    # Back on Alice's server in the same tab: still in, and after a reload too.
    page.goto(f"{guarded.url}/")
    expect_app(page)
    session = stored_credential(page)
    assert session and session != guarded.live.token
    assert session not in other_server.everything()
    # What Bob could replay gets nothing: a cookie with the session value is refused.
    jar = {"nodepipe_session_" + guarded.url.rsplit(":", 1)[1]: session}
    assert httpx.get(f"{guarded.url}/api/projects", cookies=jar).status_code == 401

    # Nor can Bob's page show Alice's app in a frame (the frame would share the tab's storage
    # of Alice's origin, the same site): it is refused, no app runs in it.
    page.goto(f"{other_server.url}/frame?{guarded.url}/")
    expect(page.get_by_role("heading", name="Bob's server")).to_be_visible()
    page.wait_for_load_state("load")
    (framed,) = page.main_frame.child_frames
    wait_for(lambda: not framed.url.startswith(guarded.url), "the frame to be refused", 10)
    assert framed.locator("[data-testid=live-indicator]").count() == 0

    page.goto(f"{guarded.url}/")
    expect_app(page)
    page.reload()
    expect_app(page)
    # A new tab starts without access: it needs the link or the password again.
    other_tab = page.context.new_page()
    other_tab.goto(f"{guarded.url}/")
    expect(other_tab.get_by_role("heading", name=NEEDS_TOKEN)).to_be_visible()
    expect(other_tab.get_by_label("Password")).to_be_visible()
    other_tab.close()


def test_when_the_session_ends_the_app_shows_the_login_screen_saying_why(
    page: Page, served: Served
) -> None:
    page.goto(served.link)
    expect_app(page)
    # As when the server restarted with another token: what the tab holds is refused.
    page.evaluate("sessionStorage.setItem('nodepipe.credential', 'a token of the last start')")
    notes = httpx.patch(  # a change elsewhere: the page hears of it and reloads its data
        f"{served.url}/api/pipelines/baseline", json={"notes": "n"}, headers=served.headers
    )
    assert notes.is_success
    expect(page.get_by_role("heading", name=NEEDS_TOKEN)).to_be_visible()
    assert stored_credential(page) is None
    # it says why this tab lost its access, and what to do in the app's words (no CLI command)
    expect(page.get_by_test_id("session-ended")).to_contain_text("it restarted")
    expect(page.locator("main")).to_contain_text("Open the link the server printed")
    expect(page.locator("main")).not_to_contain_text("nodepipe server list")
    page.goto(served.link)  # the link again: in, and a later login screen says nothing ended
    expect_app(page)
    other_tab = page.context.new_page()
    other_tab.goto(f"{served.url}/")
    expect(other_tab.get_by_role("heading", name=NEEDS_TOKEN)).to_be_visible()
    expect(other_tab.get_by_test_id("session-ended")).to_have_count(0)
    other_tab.close()
