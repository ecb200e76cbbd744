"""Past environments through the API: what a node run ran with, its stored lock texts, and
putting them back (``env restore``, ``node restore``), with the errors every route gives."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, finish_job
from integration.conftest import offline_index, snapshot
from nodepipe.services.runs.service import RunRequest
from nodepipe.store.schema import node_run_environments

__all__ = ["offline_index"]  # the fixture: uv resolves from a folder of tiny wheels only
ENV = "/api/pipelines/baseline/nodes/clean/environment"


def ran(ws: nodepipe.Workspace) -> str:
    result = ws.runs.run(RunRequest("baseline"))
    assert result.run_id is not None and result.finished is not None
    assert not result.finished.failed
    return result.run_id


def test_a_runs_environment_and_its_stored_lock_text(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    run = ran(chain)
    code = chain.nodes.path("clean") / "code"
    then = (code / "uv.lock").read_text()
    (code / "uv.lock").write_text(then + "# edited since\n")
    past = client.get(f"/api/runs/{run}/nodes/clean/environment").json()
    assert past["interpreter"] and past["python"] and past["conda_packages"] == []
    lock = client.get(f"/api/runs/{run}/nodes/clean/locks/uv").json()
    assert lock["text"] == then and lock["sha256"] == past["locks"]["uv"]
    assert (lock["kind"], lock["file"], lock["tag"]) == ("uv", "uv.lock", "clean")
    assert "ran with no conda.lock" in error_of(
        client.get(f"/api/runs/{run}/nodes/clean/locks/conda"), 422, "invalid_input"
    )
    error_of(client.get(f"/api/runs/{run}/nodes/clean/locks/pip"), 422)
    error_of(client.get(f"/api/runs/{run}/nodes/nope/locks/uv"), 404)
    error_of(client.get("/api/runs/nosuchrun/nodes/clean/environment"), 404)
    with chain.context.store.engine.begin() as connection:  # as an older nodepipe recorded it
        connection.execute(sa.delete(node_run_environments))
    for path in ("environment", "locks/uv"):
        message = error_of(client.get(f"/api/runs/{run}/nodes/clean/{path}"), 422)
        assert "no stored environment" in message


def job(client: TestClient, app: FastAPI, path: str, body: dict[str, Any]) -> dict[str, Any]:
    started = client.post(path, json=body)
    assert started.status_code == 202, started.text
    return finish_job(client, app, started.json())


def imports(ws: nodepipe.Workspace, tag: str, module: str) -> bool:
    python = ws.nodes.path(tag) / "code" / ".venv" / "bin" / "python"
    return subprocess.run([python, "-c", f"import {module}"], check=False).returncode == 0


def test_restore_the_environment_and_a_node_of_a_past_run(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace, offline_index: Path
) -> None:
    chain.envs.add("clean", ["toypkg==1.0"])
    first = ran(chain)
    chain.envs.add("clean", ["otherpkg==0.1"])
    assert imports(chain, "clean", "otherpkg")
    restored = job(client, app, f"{ENV}/restore", {"run": first})
    assert restored["status"] == "succeeded", restored
    assert not imports(chain, "clean", "otherpkg") and imports(chain, "clean", "toypkg")
    past = chain.run_envs.show("clean", first)
    assert client.get(ENV).json()["locked"] == {"toypkg": "1.0"}
    made = job(
        client,
        app,
        "/api/pipelines/baseline/nodes/clean/restore",
        {"run": first, "tag": "clean-then"},
    )
    assert made["status"] == "succeeded", made
    assert "restored clean-then from run" in made["message"]
    new = chain.nodes.get("clean-then", "baseline")
    assert made["node_ids"] == [new.id]
    assert [(i.slot, i.tag) for i in chain.nodes.show(new.id).inputs] == [("01", "load")]
    lock = chain.nodes.path(new.id) / "code" / "uv.lock"
    assert hashlib.sha256(lock.read_bytes()).hexdigest() == past.locks["uv"]


def test_restores_are_refused_as_every_route_refuses(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    run = ran(chain)
    before = snapshot(chain)
    node_restore = "/api/pipelines/baseline/nodes/clean/restore"
    error_of(client.post(f"{ENV}/restore", json={"run": "nosuchrun"}), 404)
    taken = client.post(node_restore, json={"run": run, "tag": "load"})
    error_of(taken, 409, "conflict")
    assert [d["loc"] for d in taken.json()["details"]] == [["body", "tag"]]  # said beside it
    error_of(client.post(node_restore, json={"run": run, "tag": "../x"}), 422)
    error_of(client.post(node_restore, json={"run": "nosuchrun", "tag": "x"}), 404)
    assert snapshot(chain) == before
    chain.nodes.lock("clean")
    locked = job(client, app, f"{ENV}/restore", {"run": run})  # a job, as every env change
    assert locked["status"] == "failed" and locked["error"]["kind"] == "read_only"
    chain.nodes.unlock("clean")
    with chain.context.store.engine.begin() as connection:
        connection.execute(sa.delete(node_run_environments))
    before = snapshot(chain)
    for path, body in ((f"{ENV}/restore", {"run": run}), (node_restore, {"run": run, "tag": "x"})):
        assert "no stored environment" in error_of(client.post(path, json=body), 422)
    assert snapshot(chain) == before


def test_a_file_sent_from_the_users_machine_is_imported_or_refused_at_once(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace, offline_index: Path
) -> None:
    sent = {"file_name": "requirements.txt", "text": "# pins\ntoypkg==1.0\n"}
    imported = job(client, app, f"{ENV}/import", sent)
    assert imported["status"] == "succeeded", imported
    assert client.get(ENV).json()["locked"] == {"toypkg": "1.0"}
    staging = chain.context.layout.staging_dir
    assert not staging.exists() or not any(staging.iterdir()), "the sent file was left behind"
    before = snapshot(chain)
    refused = {
        "name: x\ndependencies: [numpy]\n": "is YAML, not a requirement",
        "-r /etc/passwd\n": "of the server",
        "-e ../../..\n": "of the server",
        "/srv/project\n": "of the server",
        "--find-links /srv\ntoypkg\n": "of the server",
        "toypkg\x00\n": "NUL bytes",
        "toypkg==1.0\n" * 100_000: "too large",
        "\n# nothing\n": "names no package",
    }
    for text, said in refused.items():
        body = {"file_name": "requirements.txt", "text": text}
        assert said in error_of(client.post(f"{ENV}/import", json=body), 422, "invalid_input")
    for name in ("../x.txt", "/etc/passwd", ".hidden", ""):
        body = {"file_name": name, "text": "toypkg\n"}
        error_of(client.post(f"{ENV}/import", json=body), 422)
    for text, said in {
        "channels: [/srv/channel]\ndependencies: [hello-tool]\n": "a path of the server",
        "channels: ['file:///srv/ch']\ndependencies: [hello-tool]\n": "a path of the server",
        "dependencies:\n  - pip: toypkg\n": "pip must be a list",
        "prefix: /opt\n": "nothing in it can be placed",
    }.items():
        body = {"file_name": "environment.yml", "text": text}
        assert said in error_of(client.post(f"{ENV}/import", json=body), 422)
    assert snapshot(chain) == before
    error_of(client.post("/api/pipelines/baseline/nodes/nope/environment/import", json=sent), 404)
