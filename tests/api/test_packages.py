"""Packages over HTTP: a pipeline built into dist/ and downloaded, published to a real index
(a wrong password fails with the hint the web app words, a re-publish skips), pulled back by
name as a new pipeline; a path on the server is never pulled."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import LOOPBACK, authorized, error_of, finish_job
from nodepipe.api import create_app
from support.package_index import PASSWORD, USER, PackageIndex, offline_env
from support.wheels import local_project


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
    assert (refused["error"].get("hint") or {}).get("action") == "package.credentials", refused
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


def upload(client: TestClient, name: str, data: bytes, **fields: str) -> Any:
    files = {"package": (name, data, "application/octet-stream")}
    return client.post("/api/packages/upload", files=files, data=fields)


def staging_entries(ws: nodepipe.Workspace) -> list[str]:
    return sorted(p.name for p in ws.context.layout.staging_dir.iterdir())


def test_an_uploaded_package_file_becomes_a_pipeline_and_is_deleted_after_the_job(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    built = chain.packages.build("baseline", alias="up-model", destination=tmp_path)
    for path, tag in ((built.wheel, "from-wheel"), (built.sdist, "from-sdist")):
        answer = upload(client, path.name, path.read_bytes(), alias=tag)
        assert answer.status_code == 202, answer.text
        done = finish_job(client, app, answer.json())
        assert done["status"] == "succeeded", done
        assert done["message"] == f"pulled {path.name} as pipeline {tag!r} (3 nodes)"
        assert chain.pipelines.get(done["pipeline_id"]).tag == tag
        assert staging_entries(chain) == [], "the uploaded file outlived its job"
    clash = upload(client, built.wheel.name, built.wheel.read_bytes(), alias="from-wheel")
    failed = finish_job(client, app, clash.json())
    assert failed["status"] == "failed" and staging_entries(chain) == []


def test_a_staged_upload_is_private_to_the_servers_user(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    built = chain.packages.build("baseline", alias="up-model", destination=tmp_path)
    with built.wheel.open("rb") as sent:
        staged = chain.packages.pull_upload(sent, f"C:\\Users\\me\\{built.wheel.name}")
    try:
        folder = staged.file.parent
        assert folder.parent == chain.context.layout.staging_dir
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(staged.file.stat().st_mode) == 0o600
        assert folder.stat().st_uid == staged.file.stat().st_uid == os.getuid()
        assert staged.file.read_bytes() == built.wheel.read_bytes()
        assert staged.release == "up-model==0.1.0"
    finally:
        staged.discard()
    assert not folder.exists()


def test_hostile_uploads_are_refused_with_the_menu_items_words_and_leave_nothing(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    small = create_app(chain, replace(LOOPBACK, max_package_upload=4096))
    built = chain.packages.build("baseline", alias="big", destination=tmp_path, with_data=True)
    escaping = io.BytesIO()
    with zipfile.ZipFile(escaping, "w") as wheel:
        wheel.writestr("evil-1.0.dist-info/entry_points.txt", "[nodepipe.bundles]\nevil = evil.b\n")
        wheel.writestr("evil/b/pipeline.toml", 'format = 1\n[pipeline]\nname = "evil"\n')
        wheel.writestr("evil/b/../../../../escape.py", "print('escaped')")
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as wheel:
        wheel.writestr("plain/__init__.py", "VALUE = 1\n")
        wheel.writestr("plain-1.0.dist-info/METADATA", "Name: plain\nVersion: 1.0\n")
    huge = built.wheel.read_bytes() + os.urandom(8192)
    cases = [
        ("big-0.1.0-py3-none-any.whl", huge, "is larger than 4 KiB: too large to upload"),
        ("evil-1.0-py3-none-any.whl", escaping.getvalue(), "leads outside the bundle"),
        ("plain-1.0-py3-none-any.whl", plain.getvalue(), "is not a nodepipe package"),
        ("junk-1.0-py3-none-any.whl", b"not a zip at all", "junk-1.0-py3-none-any.whl"),
        ("junk-1.0.tar.gz", b"\x1f\x8b not a tar", "junk-1.0.tar.gz"),
        ("setup.exe", b"MZ", "is not a wheel (.whl) or an sdist (.tar.gz) file name"),
        ("../../.whl", b"PK", "is not a wheel (.whl) or an sdist (.tar.gz) file name"),
    ]
    before = sorted(p.name for p in chain.root.iterdir())
    with authorized(small) as client:
        for name, data, words in cases:
            answer = upload(client, name, data)
            assert words in error_of(answer, 422, "invalid_input"), name
            hint = answer.json()["hint"]
            assert hint["action"] == "package.upload" and hint["params"]["limit"] == "4 KiB"
            assert staging_entries(chain) == [], name
    assert [p.tag for p in chain.pipelines.list()] == ["baseline"]
    assert sorted(p.name for p in chain.root.iterdir()) == before
    assert not list(tmp_path.parent.rglob("escape.py"))


def test_a_node_installing_a_folder_from_outside_is_refused_by_build_and_download(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """Build package… and the bundle download refuse a node whose environment is built from a
    folder outside the pipeline's nodes (nobody could import it), naming it, with the menu
    item of the fix; nothing is written into dist/."""
    tool = local_project(tmp_path / "outside" / "tool", "outtool", "0.1", "X = 1\n")
    chain.envs.add("clean", [], path=str(tool))
    built = started(client, app, "/api/pipelines/baseline/package", {"alias": "np-b"})
    assert built["status"] == "failed", built
    assert (
        "node 'clean' installs from outside the nodes exported with it" in built["error"]["message"]
    )
    assert str(tool) in built["error"]["message"]
    hint = {"node": chain.nodes.get("clean").id, "tag": "clean"}
    assert built["error"]["hint"] == {"action": "env.snapshot", "params": hint}
    assert client.get("/api/packages").json() == []
    assert not (chain.root / "dist").exists()
    answer = client.get("/api/pipelines/baseline/bundle.zip")
    assert "node 'clean' installs from outside" in error_of(answer, 422)
    assert answer.json()["hint"]["action"] == "env.snapshot"
    assert sorted(p.name for p in chain.context.layout.staging_dir.iterdir()) == []
