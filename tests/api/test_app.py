"""The app itself: error mapping, built pages, the OpenAPI document the client is made from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import LOOPBACK, authorized, error_of
from nodepipe.api import create_app
from nodepipe.api.openapi import openapi_document
from nodepipe.domain.errors import StorageError
from nodepipe.schemas.errors import describe

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (nodepipe.CycleError("c", ["a", "b", "a"]), 409, "cycle"),
        (nodepipe.ReadOnlyError("r"), 409, "read_only"),
        (nodepipe.ConflictError("c"), 409, "conflict"),
        (nodepipe.AmbiguousNameError("a"), 404, "ambiguous"),
        (nodepipe.NotFoundError("n"), 404, "not_found"),
        (nodepipe.InvalidInputError("i"), 422, "invalid_input"),
        (nodepipe.RequirementNotFoundError("n"), 422, "requirement_not_found"),
        (nodepipe.UnresolvableRequirementsError("u"), 422, "unresolvable"),
        (nodepipe.RefusedPackageError("p"), 422, "refused_package"),
        (nodepipe.IndexUnreachableError("i"), 503, "index_unreachable"),
        (nodepipe.EnvironmentBuildError("e"), 502, "environment"),
        (nodepipe.WorkspaceError("w"), 503, "workspace"),
        (StorageError("s"), 503, "storage"),
        (nodepipe.NodepipeError("x"), 400, "error"),
        (RuntimeError("boom"), 500, "internal"),
    ],
)
def test_one_mapping_from_errors_to_statuses(error: Exception, status: int, kind: str) -> None:
    got_status, body = describe(error)
    assert (got_status, body.kind) == (status, kind)
    assert body.cycle == (["a", "b", "a"] if kind == "cycle" else None)


def test_workspace_and_health(client: TestClient, chain: nodepipe.Workspace) -> None:
    info = client.get("/api/workspace").json()
    assert info["root"] == str(chain.root) and info["store"] == "sqlite"
    assert info["token_required"] is True
    assert client.get("/api/health").json() == {"ok": True}
    assert error_of(client.get("/api/nope"), 404, "not_found")
    error_of(client.put("/api/health"), 405)


def test_the_built_app_is_served_with_a_fallback_to_index(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<div id=root></div>")
    (tmp_path / "assets" / "app-1a2b.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    with authorized(create_app(chain, LOOPBACK, static_dir=tmp_path)) as client:
        assert client.get("/").text == "<div id=root></div>"
        assert client.get("/pipelines/anything").text == "<div id=root></div>"
        asset = client.get("/assets/app-1a2b.js")
        assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]
        assert client.get("/favicon.svg").text == "<svg/>"
        assert client.get("/../nodepipe.toml").text == "<div id=root></div>"
        error_of(client.get("/api/unknown"), 404)


@pytest.mark.parametrize(
    "path", ["/a%00b", "/" + "a" * 5000, "/assets/a%00b", "/assets/" + "a" * 5000]
)
def test_a_page_path_no_file_system_holds_is_the_app_not_a_server_error(
    chain: nodepipe.Workspace, tmp_path: Path, path: str
) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<div id=root></div>")
    with authorized(create_app(chain, LOOPBACK, static_dir=tmp_path)) as client:
        page = client.get(path)
        assert page.status_code in (200, 404), page.text
        if not path.startswith("/assets/"):
            assert page.text == "<div id=root></div>"


def test_without_a_build_the_page_says_how_to_make_one(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    with authorized(create_app(chain, LOOPBACK, static_dir=tmp_path)) as client:
        page = client.get("/")
        assert page.status_code == 503 and "make web" in page.text
        assert client.get("/api/health").is_success


def test_the_web_clients_openapi_copy_matches_the_app() -> None:
    committed = json.loads((REPO / "web" / "src" / "api" / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(openapi_document())), (
        "the API changed: run `python -m nodepipe.api.openapi > web/src/api/openapi.json` "
        "and `npm run gen:api` in web/"
    )


def test_every_route_declares_its_error_shape() -> None:
    document = openapi_document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path in ("/api/health", "/api/events", "/api/workspace", "/api/tickets"):
                continue
            assert "404" in operation["responses"], f"{method} {path}"


def test_serving_a_missing_workspace_fails_at_once_with_the_reason(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nodepipe.api", "-w", str(tmp_path / "none"), "--port", "8"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "no nodepipe workspace" in result.stderr


def test_serve_prints_where_to_open_the_app(chain: nodepipe.Workspace, tmp_path: Path) -> None:
    from api.live import server_process

    log = tmp_path / "serve.log"
    with server_process(chain.root, log) as live:
        assert httpx.get(f"{live.url}/api/health", headers=live.headers).is_success
    printed = log.read_text()
    assert f"open {live.link}" in printed and str(chain.root) in printed
