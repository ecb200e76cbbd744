"""Packages over HTTP: a pipeline built into dist/ and downloaded, published to a real index
(a wrong password fails with the hint the web app words, a re-publish skips), pulled back by
name as a new pipeline; a path on the server is never pulled."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import finish_job
from support.package_index import PASSWORD, USER, PackageIndex, offline_env


def started(client: TestClient, app: FastAPI, url: str, body: dict[str, object]) -> dict[str, Any]:
    answer = client.post(url, json=body)
    assert answer.status_code == 202, answer.text
    return finish_job(client, app, answer.json())


def test_build_download_publish_and_pull_over_http(
    client: TestClient,
    app: FastAPI,
    chain: nodepipe.Workspace,
    index: PackageIndex,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    for name in ("TWINE_USERNAME", "TWINE_PASSWORD", "UV_PUBLISH_USERNAME", "UV_PUBLISH_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(chain.root))  # no ~/.pypirc of the machine's
    body = {"alias": "np-baseline", "version": "1.0"}
    built = started(client, app, "/api/pipelines/baseline/package", body)
    assert built["status"] == "succeeded", built
    wheel = "np_baseline-1.0-py2.py3-none-any.whl"
    assert built["message"] == f"built {wheel} and np_baseline-1.0.tar.gz"
    listed = client.get("/api/packages").json()
    assert [f["name"] for f in listed] == [
        "np_baseline-1.0-py2.py3-none-any.whl",
        "np_baseline-1.0.tar.gz",
    ]
    download = client.get(f"/api/packages/{wheel}")
    assert download.status_code == 200
    assert download.content == (chain.root / "dist" / wheel).read_bytes()
    assert client.get("/api/packages/..%2Fnodepipe.toml").status_code == 404

    files = [f["name"] for f in listed]
    publish = {"files": files, "repository_url": index.url, "username": USER}
    refused = started(client, app, "/api/packages/publish", {**publish, "password": "wrong"})
    assert refused["status"] == "failed"
    assert refused["error"]["hint"]["action"] == "package.credentials"
    assert "wrong" not in str(refused)
    assert index.files() == []
    done = started(client, app, "/api/packages/publish", {**publish, "password": PASSWORD})
    assert done["status"] == "succeeded", done
    assert done["message"] == f"uploaded 2 to {index.url}"
    again = started(client, app, "/api/packages/publish", {**publish, "password": PASSWORD})
    assert again["message"] == f"uploaded 0, skipped 2 the index already holds to {index.url}"

    pull = {"source": "np-baseline==1.0", "alias": "pulled", "index_url": index.simple_url}
    pulled = started(client, app, "/api/packages/pull", pull)
    assert pulled["status"] == "succeeded", pulled
    assert chain.pipelines.get(pulled["pipeline_id"]).tag == "pulled"
    assert len(pulled["node_ids"]) == 3
    local = {"source": str(chain.root / "dist" / wheel), "alias": "local"}
    refused_path = started(client, app, "/api/packages/pull", local)
    assert refused_path["status"] == "failed"
    assert refused_path["error"]["kind"] == "invalid_input"
    assert "is a file on the server" in refused_path["error"]["message"]
