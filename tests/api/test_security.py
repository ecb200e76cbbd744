"""Access: a token on every address (loopback too), the session cookie, the password login,
host names, origins, CORS, and the server's private info file."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import BASE_URL, LOOPBACK, error_of
from api.live import server_process
from nodepipe.api import create_app
from nodepipe.api.security import cookie_name, session_value
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
    assert chain.pipelines.get("baseline").tag == "baseline"
    assert chain.runs.history("baseline") == []
    page = anonymous.get("/pipelines/anything")
    assert page.status_code == 401 and "needs its token" in page.text
    assert "<form" not in page.text  # no password configured: only the link gets in


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


def test_a_token_link_sets_the_session_cookie_and_drops_the_token_from_the_address(
    anonymous: TestClient,
) -> None:
    response = anonymous.get(f"/?token={LOOPBACK.token}&x=1", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/?x=1"
    cookie = response.headers["set-cookie"]
    session = session_value(LOOPBACK)
    assert cookie.startswith(f"{cookie_name(LOOPBACK)}={session};")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert LOOPBACK.token not in cookie  # the cookie is not the token
    assert anonymous.get("/api/workspace").json()["token_required"] is True  # the cookie
    anonymous.cookies.clear()
    anonymous.cookies.set(cookie_name(LOOPBACK), LOOPBACK.token)
    error_of(anonymous.get("/api/workspace"), 401)


def test_a_browser_logs_in_with_the_password(guarded: TestClient) -> None:
    page = guarded.get("/pipelines/p1")
    assert page.status_code == 401 and 'type="password"' in page.text
    assert 'name="next" value="/pipelines/p1"' in page.text
    form = {"password": PASSWORD, "next": "/pipelines/p1"}
    logged_in = guarded.post("/login", data=form, follow_redirects=False)
    assert logged_in.status_code == 303 and logged_in.headers["location"] == "/pipelines/p1"
    session = logged_in.cookies[cookie_name(WITH_PASSWORD)]
    assert session == session_value(WITH_PASSWORD) and "HttpOnly" in logged_in.headers["set-cookie"]
    assert guarded.get("/api/projects").is_success  # the client keeps the cookie


def test_the_login_page_keeps_where_the_browser_was_going(guarded: TestClient) -> None:
    page = guarded.get("/login", params={"next": "/pipelines/p2"})
    assert page.status_code == 200 and 'name="next" value="/pipelines/p2"' in page.text


def test_a_wrong_password_is_refused_and_sets_nothing(guarded: TestClient) -> None:
    for wrong in ("correct horse batter", "", PASSWORD.upper(), WITH_PASSWORD.token):
        answer = guarded.post("/login", data={"password": wrong}, follow_redirects=False)
        assert answer.status_code == 401 and "Wrong password" in answer.text
        assert "set-cookie" not in answer.headers
    error_of(guarded.get("/api/projects"), 401)


def test_login_stays_on_this_server_and_comes_from_its_own_pages(guarded: TestClient) -> None:
    away = guarded.post(
        "/login", data={"password": PASSWORD, "next": "//evil.example/"}, follow_redirects=False
    )
    assert away.headers["location"] == "/"
    foreign = {"origin": "http://evil.example"}
    error_of(guarded.post("/login", data={"password": PASSWORD}, headers=foreign), 403)


def test_without_a_password_login_only_points_at_the_link(anonymous: TestClient) -> None:
    answer = anonymous.post("/login", data={"password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 401 and "no password" in answer.text
    assert "set-cookie" not in answer.headers


def test_off_loopback_any_host_name_but_always_the_token(lan: TestClient) -> None:
    assert error_of(lan.get("/api/health"), 401, "unauthorized")
    assert lan.get("/").status_code == 401 and "token" in lan.get("/").text
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
