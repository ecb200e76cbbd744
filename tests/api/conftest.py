"""Fixtures for API tests: real workspaces (copied from a template built once), the app.

``chain`` is the graph of the integration tests, pipeline ``baseline`` in project
``climate``: load → clean → plot. ``client`` is FastAPI's TestClient over the app of that
workspace, addressed as the loopback server it would be, and sending the server's token.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from nodepipe.api import create_app
from nodepipe.api.deps import AppServices
from nodepipe.api.settings import ServerSettings
from support.waiting import wait_for
from support.worlds import CHAIN, build_pipeline

BASE_URL = "http://127.0.0.1:8000"
LOOPBACK = ServerSettings(host="127.0.0.1", port=8000)
"""The settings of the app under test: its token is random, as when served."""


def build_chain(root: Path) -> None:
    ws = nodepipe.init(root)
    build_pipeline(ws, "baseline", CHAIN, project="climate")
    ws.close()


@pytest.fixture(scope="session")
def chain_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A chain workspace built once (real uv environments); tests get copies of it."""
    root = tmp_path_factory.mktemp("template") / "lab"
    build_chain(root)
    return root


@pytest.fixture
def chain(
    chain_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[nodepipe.Workspace]:
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    root = tmp_path / "lab"
    shutil.copytree(chain_template, root, symlinks=True)
    ws = nodepipe.open(root)
    monkeypatch.chdir(root)
    yield ws
    ws.close()


@pytest.fixture
def app(chain: nodepipe.Workspace) -> FastAPI:
    return create_app(chain, LOOPBACK)


def authorized(app: FastAPI, settings: ServerSettings = LOOPBACK) -> TestClient:
    """A TestClient of ``app`` (made with ``settings``) that sends the token."""
    headers = {"Authorization": f"Bearer {settings.token}"}
    base_url = f"http://{settings.host}:{settings.port}"
    return TestClient(app, base_url=base_url, headers=headers)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with authorized(app) as test_client:
        yield test_client


def services(app: FastAPI) -> AppServices:
    found: AppServices = app.state.services
    return found


def ids(ws: nodepipe.Workspace, pipeline: str = "baseline") -> dict[str, str]:
    """Tag -> id of the nodes shown in ``pipeline``."""
    return {item.node.tag: item.node.id for item in ws.pipelines.show(pipeline).nodes}


def wait_runs(app: FastAPI, timeout: float = 120.0) -> None:
    """Wait until the runs this app launched have ended."""
    wait_for(lambda: services(app).launcher.active == 0, "the app's runs to end", timeout)


def finish_job(client: TestClient, app: FastAPI, job: dict[str, Any]) -> dict[str, Any]:
    """Wait for a background job and return its final record from the API."""
    services(app).jobs.wait(job["id"], 120)
    answer = client.get(f"/api/jobs/{job['id']}")
    assert answer.status_code == 200
    record: dict[str, Any] = answer.json()
    assert record["status"] != "running"
    return record


def error_of(response: Any, status: int, kind: str | None = None) -> str:
    """Assert ``response`` is the error ``status`` (and ``kind``); return its message."""
    assert response.status_code == status, response.text
    body = response.json()
    if kind is not None:
        assert body["kind"] == kind, body
    message: str = body["message"]
    return message
