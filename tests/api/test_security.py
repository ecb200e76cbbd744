"""Access: loopback needs no login but only loopback host names; elsewhere a token; CORS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of
from nodepipe.api import create_app
from nodepipe.api.security import cookie_name
from nodepipe.api.server import settings_for
from nodepipe.api.settings import ServerSettings, is_loopback

LAN = ServerSettings(host="0.0.0.0", port=8000, token="s3cret-token")


@pytest.fixture
def lan(chain: nodepipe.Workspace) -> Iterator[TestClient]:
    """The app as served on every interface, with its token."""
    with TestClient(create_app(chain, LAN), base_url="http://lab-server:8000") as client:
        yield client


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.4", "example.org"]))


def test_anything_but_loopback_refuses_to_start_without_a_token(chain: nodepipe.Workspace) -> None:
    with pytest.raises(nodepipe.InvalidInputError, match=r"refusing to listen on 0\.0\.0\.0"):
        create_app(chain, ServerSettings(host="0.0.0.0"))
    generated = settings_for("0.0.0.0", 8000, None)
    assert generated.token and len(generated.token) >= 24
    assert settings_for("127.0.0.1", 8000, None).token is None
    assert settings_for("10.0.0.2", 9000, "given").token == "given"
    assert any("?token=" in url for url in generated.urls())
    with pytest.raises(nodepipe.InvalidInputError, match="port"):
        settings_for("127.0.0.1", 0, None)


def test_every_request_must_carry_the_token(lan: TestClient) -> None:
    assert error_of(lan.get("/api/health"), 401, "unauthorized")
    assert lan.get("/").status_code == 401 and "token" in lan.get("/").text
    assert lan.get("/api/health", headers={"Authorization": "Bearer s3cret-token"}).is_success
    assert lan.get("/api/health", headers={"X-Nodepipe-Token": "s3cret-token"}).is_success
    assert lan.get("/api/health", params={"token": "s3cret-token"}).is_success
    error_of(lan.get("/api/health", headers={"Authorization": "Bearer wrong"}), 401)


def test_a_token_link_sets_the_cookie_and_drops_the_token_from_the_address(
    lan: TestClient,
) -> None:
    response = lan.get("/?token=s3cret-token&x=1", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/?x=1"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{cookie_name(LAN)}=s3cret-token") and "HttpOnly" in cookie
    lan.cookies.set(cookie_name(LAN), "s3cret-token")
    assert lan.get("/api/workspace").json()["token_required"] is True


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
