"""Hostile input through the API: YAML bombs and deep YAML are 422s that save nothing, a bomb
written by hand fails its node only, options disguised as requirements are refused at once, and
a broken node does not stop the others."""

from __future__ import annotations

import shutil

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, ids, wait_runs
from integration.conftest import snapshot
from nodepipe import NodeState
from support.hostile_yaml import BOMB, DEEP

NODES = "/api/pipelines/baseline/nodes"


@pytest.mark.parametrize(
    ("text", "problem"),
    [(BOMB, "too many YAML aliases"), (DEEP, "nested more than 100 levels")],
    ids=["billion-laughs", "10000-deep"],
)
def test_hostile_parameters_are_a_422_and_save_nothing(
    client: TestClient, chain: nodepipe.Workspace, text: str, problem: str
) -> None:
    before = snapshot(chain)
    message = error_of(client.put(f"{NODES}/clean/params", json={"yaml": text}), 422)
    assert problem in message
    assert snapshot(chain) == before
    assert client.get(f"{NODES}/clean").json()["params"]["params"] == {}


def test_a_bomb_written_by_hand_fails_its_node_only(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    (chain.nodes.path("clean") / "code" / "params.yaml").write_text(BOMB)
    assert "too many YAML aliases" in error_of(client.get(f"{NODES}/clean"), 422, "invalid_input")
    assert client.get(f"{NODES}/load").status_code == 200

    status = client.get("/api/pipelines/baseline/status")
    assert status.status_code == 200
    node_ids = ids(chain)
    found = {item["node_id"]: item for item in status.json()["nodes"]}
    assert found[node_ids["clean"]]["state"] == "failed"
    assert "too many YAML aliases" in found[node_ids["clean"]]["reasons"][0]

    assert client.post("/api/pipelines/baseline/runs", json={}).status_code == 202
    wait_runs(app)
    assert chain.nodes.get("load").state is NodeState.COMPLETED
    assert chain.nodes.get("clean").state is NodeState.FAILED

    fixed = client.put(f"{NODES}/clean/params", json={"yaml": "lr: 0.1\n"})
    assert fixed.status_code == 200 and fixed.json()["params"] == {"lr": 0.1}
    assert client.get(f"{NODES}/clean").status_code == 200


def test_a_deleted_node_folder_does_not_stop_the_others(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    shutil.rmtree(chain.nodes.path("clean"))
    status = client.get("/api/pipelines/baseline/status")
    assert status.status_code == 200
    states = {item["node_id"]: item["state"] for item in status.json()["nodes"]}
    node_ids = ids(chain)
    assert states[node_ids["clean"]] == "failed" and states[node_ids["load"]] == "ready"
    started = client.post("/api/pipelines/baseline/runs", json={"only": ["load"]})
    assert started.status_code == 202
    wait_runs(app)
    assert chain.nodes.get("load").state is NodeState.COMPLETED
    message = error_of(client.get(f"{NODES}/clean/environment"), 422, "invalid_input")
    assert "pyproject.toml" in message


@pytest.mark.parametrize("option", ["-e", "--index-url=http://127.0.0.1:9/simple"])
def test_options_disguised_as_requirements_are_refused_at_once(
    client: TestClient, chain: nodepipe.Workspace, option: str
) -> None:
    before = snapshot(chain)
    attempts = [
        ("POST", f"{NODES}/clean/environment/packages", {"json": {"requirements": [option]}}),
        ("DELETE", f"{NODES}/clean/environment/packages", {"params": {"packages": [option]}}),
        ("POST", "/api/pipelines/baseline/base-packages", {"json": {"packages": [option]}}),
        ("DELETE", "/api/pipelines/baseline/base-packages", {"params": {"packages": [option]}}),
        ("POST", "/api/shared-envs", {"json": {"name": "tools", "packages": [option]}}),
    ]
    for method, path, arguments in attempts:
        message = error_of(client.request(method, path, **arguments), 422, "invalid_input")
        assert repr(option) in message, (method, path)
    assert snapshot(chain) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/projects", '{"name": "\\ud800"}'),
        ("PATCH", "/api/pipelines/baseline", '{"tag": "a\\udfff"}'),
        ("PUT", f"{NODES}/clean/params", '{"yaml": "note: \\ud83d"}'),
        ("POST", NODES, '{"tag": "n", "\\udc00": 1}'),
    ],
    ids=["project-name", "pipeline-tag", "params", "key"],
)
def test_half_a_surrogate_pair_is_malformed_json_and_saves_nothing(
    client: TestClient, chain: nodepipe.Workspace, method: str, path: str, body: str
) -> None:
    before = snapshot(chain)
    headers = {"content-type": "application/json"}
    answer = client.request(method, path, content=body.encode(), headers=headers)
    assert "half of a UTF-16 pair" in error_of(answer, 422, "invalid_input")
    assert snapshot(chain) == before
    paired = client.put(
        f"{NODES}/clean/params", content=b'{"yaml": "a: \\ud83d\\ude00"}', headers=headers
    )
    assert paired.status_code == 200 and paired.json()["params"] == {"a": "\U0001f600"}


@pytest.mark.parametrize("spec", ["[]", "[url=/tmp/x.conda]", " [ ", "conda-forge::[md5=ab]"])
def test_a_conda_spec_of_brackets_alone_is_refused_and_changes_nothing(
    client: TestClient, chain: nodepipe.Workspace, spec: str
) -> None:
    before = snapshot(chain)
    conda = f"{NODES}/load/environment/conda/packages"
    added = client.post(conda, json={"specs": [spec]})
    removed = client.delete(conda, params={"packages": [spec]})
    for answer in (added, removed):
        assert "is not a conda package spec" in error_of(answer, 422, "invalid_input")
    assert snapshot(chain) == before
