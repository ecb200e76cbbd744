"""Access: a token on every address (loopback too), no cookie, the password login's session
value, tickets, host names, origins, CORS, and the server's private info file."""

from __future__ import annotations

import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import BASE_URL, LOOPBACK, error_of
from api.live import server_process
from nodepipe.api import create_app, tickets
from nodepipe.api.security import session_value
from nodepipe.api.server import settings_for
from nodepipe.api.settings import ServerSettings, is_loopback
from nodepipe.domain.passwords import hash_password

LAN = ServerSettings(host="0.0.0.0", port=8000, token="s3cret-token-of-the-lab")
PASSWORD = "correct horse battery"
WITH_PASSWORD = ServerSettings(port=8000, password_hash=hash_password(PASSWORD))


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    """The loopback app, asked by someone who does not have its token (another OS user)."""
    with TestClient(app, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def lan(chain: nodepipe.Workspace) -> Iterator[TestClient]:
    """The app as served on every interface, asked by name from another machine."""
    with TestClient(create_app(chain, LAN), base_url="http://lab-server:8000") as client:
        yield client


@pytest.fixture
def guarded(chain: nodepipe.Workspace) -> Iterator[TestClient]:
    """A loopback app with a password, asked by a browser that has not logged in."""
    with TestClient(create_app(chain, WITH_PASSWORD), base_url=BASE_URL) as client:
        yield client


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.4", "example.org"]))


def test_every_server_gets_a_token_loopback_too() -> None:
    first, second = settings_for("127.0.0.1", 8000, None), settings_for("127.0.0.1", 8000, "")
    assert len(first.token) >= 24 and first.token != second.token
    assert settings_for("0.0.0.0", 8000, None).token
    assert settings_for("10.0.0.2", 9000, "given-token-16-chars").token == "given-token-16-chars"
    assert all("?token=" in url for url in first.urls())
    with pytest.raises(nodepipe.InvalidInputError, match="at least 16 characters"):
        settings_for("127.0.0.1", 8000, "short")
    with pytest.raises(nodepipe.InvalidInputError, match="port"):
        settings_for("127.0.0.1", 0, None)


def test_on_loopback_nothing_is_read_or_changed_without_the_token(
    anonymous: TestClient, chain: nodepipe.Workspace
) -> None:
    refused = anonymous.get("/api/health")
    assert error_of(refused, 401, "unauthorized") and refused.headers["www-authenticate"]
    error_of(anonymous.get("/api/projects"), 401, "unauthorized")
    error_of(anonymous.delete("/api/pipelines/baseline"), 401, "unauthorized")
    error_of(anonymous.post("/api/pipelines/baseline/runs", json={}), 401, "unauthorized")
    error_of(anonymous.get("/api/docs"), 401, "unauthorized")
    error_of(anonymous.get("/api/openapi.json"), 401, "unauthorized")
    assert chain.pipelines.get("baseline").tag == "baseline"
    assert chain.runs.history("baseline") == []
    shell = anonymous.get("/pipelines/anything")  # the app's static shell: nothing of the workspace
    assert shell.status_code in (200, 503) and str(chain.root) not in shell.text
    assert "baseline" not in shell.text and "set-cookie" not in shell.headers
    # No other page may frame it (a frame would use the tab's storage of this origin).
    assert shell.headers["content-security-policy"] == "frame-ancestors 'none'"


def test_the_token_is_taken_from_the_bearer_the_header_or_the_query(
    anonymous: TestClient,
) -> None:
    token = LOOPBACK.token
    assert anonymous.get("/api/health", headers={"Authorization": f"Bearer {token}"}).is_success
    assert anonymous.get("/api/health", headers={"X-Nodepipe-Token": token}).is_success
    assert anonymous.get("/api/health", params={"token": token}).is_success
    assert anonymous.get("/api/health", headers={"Authorization": f"bearer {token}"}).is_success
    error_of(anonymous.get("/api/health", headers={"Authorization": f"Basic {token}"}), 401)
    for wrong in ("wrong", token + "x", token[:-1], ""):
        error_of(anonymous.get("/api/health", headers={"Authorization": f"Bearer {wrong}"}), 401)
        error_of(anonymous.get("/api/health", params={"token": wrong}), 401)


def test_no_cookie_is_set_or_read_it_would_reach_every_port_of_the_host(
    anonymous: TestClient,
) -> None:
    """Browsers send a host's cookies to all its ports (RFC 6265 8.5): another user's server on
    127.0.0.1 would receive a session cookie and could replay it here."""
    session = session_value(LOOPBACK)
    without = anonymous.get("/pipelines/p1")
    for name in ("nodepipe_session_8000", "nodepipe_session_9999"):
        anonymous.cookies.clear()
        anonymous.cookies.set(name, session)
        error_of(anonymous.get("/api/workspace"), 401, "unauthorized")
        error_of(anonymous.get("/api/docs"), 401, "unauthorized")
        error_of(anonymous.post("/api/projects", json={"name": "x"}), 401, "unauthorized")
    with_cookie = anonymous.get("/pipelines/p1")
    assert with_cookie.text == without.text  # a page with a cookie gets nothing more
    anonymous.cookies.clear()
    link = anonymous.get(f"/?token={LOOPBACK.token}&x=1", follow_redirects=False)
    assert link.status_code in (200, 503) and "set-cookie" not in link.headers
    assert LOOPBACK.token not in link.text  # the page takes the token from its own address


def test_a_session_value_is_a_header_credential_never_a_query_one(anonymous: TestClient) -> None:
    session = session_value(LOOPBACK)
    assert session != LOOPBACK.token
    assert anonymous.get(
        "/api/workspace", headers={"Authorization": f"Bearer {session}"}
    ).is_success
    assert anonymous.get("/api/workspace", headers={"X-Nodepipe-Token": session}).is_success
    error_of(anonymous.get("/api/workspace", params={"token": session}), 401)
    other = session_value(ServerSettings(port=8000, password_hash=hash_password(PASSWORD)))
    error_of(anonymous.get("/api/workspace", headers={"Authorization": f"Bearer {other}"}), 401)


def test_a_browser_logs_in_with_the_password_and_gets_a_session_value_not_a_cookie(
    guarded: TestClient,
) -> None:
    assert guarded.get("/login").json() == {"password": True}
    error_of(guarded.get("/api/projects"), 401)
    logged_in = guarded.post("/login", json={"password": PASSWORD})
    assert logged_in.status_code == 200 and "set-cookie" not in logged_in.headers
    assert logged_in.headers["cache-control"] == "no-store"
    session = logged_in.json()["session"]
    assert session == session_value(WITH_PASSWORD) and WITH_PASSWORD.token not in session
    assert not guarded.cookies
    error_of(guarded.get("/api/projects"), 401)  # nothing ambient: the page sends it itself
    headers = {"Authorization": f"Bearer {session}"}
    assert guarded.get("/api/projects", headers=headers).is_success
    form = guarded.post("/login", data={"password": PASSWORD})  # a form body is read too
    assert form.json() == {"session": session}


def test_a_wrong_password_is_refused_and_sets_nothing(guarded: TestClient) -> None:
    for wrong in ("correct horse batter", "", PASSWORD.upper(), WITH_PASSWORD.token):
        answer = guarded.post("/login", json={"password": wrong})
        assert error_of(answer, 401, "wrong_password") == "Wrong password."
        assert "set-cookie" not in answer.headers and "session" not in answer.text
    for malformed in ({"password": 1}, ["x"], "not json"):
        answer = guarded.post("/login", json=malformed)
        error_of(answer, 401, "wrong_password")
    error_of(guarded.put("/login", json={"password": PASSWORD}), 405)
    error_of(guarded.get("/api/projects"), 401)


def test_login_comes_from_the_servers_own_pages(guarded: TestClient) -> None:
    foreign = {"origin": "http://127.0.0.1:9999"}  # another port: another origin
    error_of(guarded.post("/login", json={"password": PASSWORD}, headers=foreign), 403)
    own = {"origin": "http://127.0.0.1:8000"}
    assert guarded.post("/login", json={"password": PASSWORD}, headers=own).is_success


def test_without_a_password_login_only_points_at_the_link(anonymous: TestClient) -> None:
    assert anonymous.get("/login").json() == {"password": False}
    answer = anonymous.post("/login", json={"password": PASSWORD})
    assert "link" in error_of(answer, 401, "no_password")
    assert "set-cookie" not in answer.headers


def test_a_ticket_lets_one_plain_get_of_one_address_in_for_a_minute(
    client: TestClient, anonymous: TestClient
) -> None:
    minted = client.post("/api/tickets", json={"url": "/api/projects?a=1&b=x%20y"})
    assert minted.status_code == 200 and minted.json()["expires_in"] == tickets.TICKET_SECONDS
    url = minted.json()["url"]
    assert url.startswith("/api/projects?a=1&b=x%20y&ticket=") and LOOPBACK.token not in url
    assert anonymous.get(url).is_success
    ticket = url.rsplit("ticket=", 1)[1]
    assert anonymous.get(f"/api/projects?b=x+y&ticket={ticket}&a=1").is_success  # same query
    for elsewhere in (
        "/api/projects?a=2&b=x%20y&",
        "/api/projects?",
        "/api/workspace?a=1&b=x%20y&",
    ):
        error_of(anonymous.get(f"{elsewhere}ticket={ticket}"), 401)
    error_of(anonymous.post(url, json={"name": "x"}), 401)  # reading only
    error_of(
        anonymous.post("/api/tickets", json={"url": "/api/projects"}, params={"ticket": ticket}),
        401,
    )
    target = tickets.address("/api/projects", [("a", "1"), ("b", "x y")])
    stale = tickets.mint(LOOPBACK, target, time.time() - tickets.TICKET_SECONDS - 1)
    error_of(anonymous.get(f"/api/projects?a=1&b=x%20y&ticket={stale}"), 401)
    foreign = tickets.mint(ServerSettings(port=8000), target, time.time())
    error_of(anonymous.get(f"/api/projects?a=1&b=x%20y&ticket={foreign}"), 401)
    for bad in ("", "x", "1.2", f"{int(time.time()) + 30}.", "9" * 40 + ".ab"):
        error_of(anonymous.get(f"/api/projects?a=1&b=x%20y&ticket={bad}"), 401)
    for outside in ("/login", "http://evil.example/api/x", "//evil.example/api/", "/api/x#y"):
        assert client.post("/api/tickets", json={"url": outside}).status_code == 422


def test_the_api_docs_are_browsable_with_the_token_and_read_the_schema_with_a_ticket(
    anonymous: TestClient,
) -> None:
    docs = anonymous.get("/api/docs", params={"token": LOOPBACK.token})
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert LOOPBACK.token not in docs.text
    (schema_url,) = re.findall(r"'(/api/openapi\.json\?ticket=[^']+)'", docs.text)
    assert anonymous.get(schema_url).json()["info"]["title"] == "nodepipe"
    error_of(anonymous.get("/api/openapi.json"), 401)


def test_off_loopback_any_host_name_but_always_the_token(lan: TestClient) -> None:
    assert error_of(lan.get("/api/health"), 401, "unauthorized")
    assert error_of(lan.get("/api/docs"), 401, "unauthorized")
    assert lan.get("/api/health", headers={"X-Nodepipe-Token": LAN.token}).is_success


def test_loopback_answers_only_to_loopback_host_names(client: TestClient) -> None:
    assert client.get("/api/health").is_success
    assert client.get("/api/health", headers={"host": "localhost:8000"}).is_success
    message = error_of(client.get("/api/health", headers={"host": "evil.example:8000"}), 403)
    assert "evil.example" in message


def test_pages_of_other_sites_cannot_change_anything(client: TestClient) -> None:
    foreign = {"origin": "http://evil.example"}
    error_of(
        client.post("/api/projects", json={"name": "x"}, headers=foreign), 403, "forbidden_origin"
    )
    own = {"origin": "http://127.0.0.1:8000"}
    assert client.post("/api/projects", json={"name": "x"}, headers=own).status_code == 201
    assert client.get("/api/projects", headers=foreign).is_success  # reading is harmless


def test_cors_allows_only_the_apps_own_origin(client: TestClient) -> None:
    def preflight(origin: str) -> dict[str, str]:
        headers = {"origin": origin, "access-control-request-method": "POST"}
        return dict(client.options("/api/projects", headers=headers).headers)

    assert preflight("http://127.0.0.1:8000")["access-control-allow-origin"] == (
        "http://127.0.0.1:8000"
    )
    assert "access-control-allow-origin" not in preflight("http://evil.example")
    simple = client.get("/api/health", headers={"origin": "http://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_the_server_info_file_is_private_and_removed_when_the_server_stops(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o755)  # left open by someone: the server closes it
    with server_process(chain.root, tmp_path / "serve.log", runtime) as live:
        (info,) = runtime.glob("server-*.json")
        assert stat.S_IMODE(info.stat().st_mode) == 0o600
        assert stat.S_IMODE(runtime.stat().st_mode) == 0o700
        assert live.token in info.read_text() and str(chain.root) in info.read_text()
        assert httpx.get(f"{live.url}/api/projects", headers=live.headers).is_success
        assert httpx.get(f"{live.url}/api/projects").status_code == 401
    assert list(runtime.iterdir()) == []
