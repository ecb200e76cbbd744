"""What the CLI does with bundle inputs and library packages, over HTTP for the web app: a
pipeline's bundle inputs declared and cleared (``bundle export --input`` / ``--no-inputs``), a
package's inputs read and fed when it is included (``package pull --into --input``), one node
built as a library (``package build --library``). Each refusal changes nothing, and the ones a
dialog can show beside a field come while the request lasts, not from the background job."""

from __future__ import annotations

import io
import shutil
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, finish_job, ids
from support.package_index import PackageIndex, offline_env

INPUTS = "/api/pipelines/baseline/inputs"


def declared(client: TestClient, pipeline: str = "baseline") -> dict[str, list[str]]:
    found: dict[str, list[str]] = client.get(f"/api/pipelines/{pipeline}").json()["declared_inputs"]
    return found


def exported_inputs(client: TestClient) -> dict[str, Any]:
    """The ``[inputs]`` of the pipeline's bundle as the web app downloads it."""
    answer = client.get("/api/pipelines/baseline/bundle.zip")
    assert answer.status_code == 200, answer.text
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        definition = tomllib.loads(archive.read("pipeline.toml").decode())
    found: dict[str, Any] = definition.get("inputs", {})
    return found


def test_inputs_are_declared_and_cleared_as_an_export_remembers_them(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    node = ids(chain)
    body = {"inputs": {"raw": [node["load"]], "labels": ["plot", "clean"]}}
    answer = client.put(INPUTS, json=body)
    assert answer.status_code == 200, answer.text
    wanted = {"labels": sorted([node["clean"], node["plot"]]), "raw": [node["load"]]}
    assert answer.json() == {"declared_inputs": wanted}
    assert declared(client) == wanted
    assert chain.pipelines.show("baseline").declared_inputs == {
        name: tuple(node_ids) for name, node_ids in wanted.items()
    }
    assert exported_inputs(client) == {"labels": ["clean", "plot"], "raw": ["load"]}

    cleared = client.put(INPUTS, json={"inputs": {}})
    assert cleared.json() == {"declared_inputs": {}}
    assert declared(client) == {} and exported_inputs(client) == {}


def test_bad_inputs_are_refused_and_change_nothing(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    node = ids(chain)
    client.put(INPUTS, json={"inputs": {"raw": [node["load"]]}})
    chain.pipelines.new("other")
    chain.nodes.new("other", "stranger")
    before = declared(client)

    unknown = client.put(INPUTS, json={"inputs": {"raw": ["nosuch"]}})
    assert error_of(unknown, 404, "not_found").startswith("input 'raw': ")
    elsewhere = client.put(INPUTS, json={"inputs": {"raw": ["stranger"]}})
    assert "input 'raw'" in error_of(elsewhere, 404, "not_found")
    stranger = chain.nodes.get("stranger", "other").id
    by_id = client.put(INPUTS, json={"inputs": {"raw": [stranger]}})
    assert "input 'raw'" in error_of(by_id, 404, "not_found")
    fed = client.put(INPUTS, json={"inputs": {"01": ["clean"]}})
    assert "clean already reads slot '01' from load" in error_of(fed, 422, "invalid_input")
    bad_name = client.put(INPUTS, json={"inputs": {"a/b": ["load"]}})
    assert error_of(bad_name, 422, "invalid_input")
    assert bad_name.json()["details"][0]["loc"][:2] == ["body", "inputs"]
    lone = client.put(INPUTS, json={"inputs": {"raw": "load"}})
    error_of(lone, 422, "invalid_input")
    empty = client.put(INPUTS, json={"inputs": {"raw": []}})
    error_of(empty, 422, "invalid_input")
    many = client.put(INPUTS, json={"inputs": {f"i{n}": ["load"] for n in range(201)}})
    error_of(many, 422, "invalid_input")
    huge = client.put(
        INPUTS,
        content=b'{"inputs": {"raw": ["' + b"x" * (9 * 1024 * 1024) + b'"]}}',
        headers={"Content-Type": "application/json"},
    )
    error_of(huge, 413, "too_large")
    assert client.put("/api/pipelines/nosuch/inputs", json={"inputs": {}}).status_code == 404

    assert declared(client) == before


@pytest.fixture
def served(chain: nodepipe.Workspace, index: PackageIndex, monkeypatch: pytest.MonkeyPatch) -> str:
    """The URL of a package of ``baseline`` declaring input ``raw`` (taken by load), served
    over http by a real index server; the network is loopback only."""
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    chain.bundles.declare_inputs("baseline", {"raw": ["load"]})
    built = chain.packages.build("baseline", alias="np-feat", version="1.0", destination=index.root)
    shutil.copy(built.wheel, index.packages / built.wheel.name)
    return f"{index.url}packages/{built.wheel.name}"


def test_a_package_is_included_with_its_inputs_fed_by_nodes_of_the_pipeline(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace, served: str
) -> None:
    chain.pipelines.new("host")
    prep = chain.nodes.new("host", "prep")
    read = client.post("/api/packages/inputs", json={"source": served})
    assert read.status_code == 200, read.text
    assert read.json() == {
        "release": "np-feat==1.0",
        "name": "baseline",
        "inputs": {"raw": ["load"]},
    }

    body = {"source": served, "namespace": "feat", "inputs": {"raw": "prep"}}
    started = client.post("/api/pipelines/host/includes", json=body)
    assert started.status_code == 202, started.text
    done = finish_job(client, app, started.json())
    assert done["status"] == "succeeded", done
    view = chain.pipelines.show("host")
    tags = {item.node.id: item.node.tag for item in view.nodes}
    assert sorted(tags[i] for i in done["node_ids"]) == ["feat.clean", "feat.load", "feat.plot"]
    assert {(tags[e.parent_id], tags[e.child_id], e.slot) for e in view.edges} >= {
        ("prep", "feat.load", "raw")
    }
    assert prep.id in tags


def test_a_bad_include_is_refused_before_anything_is_fetched_or_by_its_job(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace, served: str
) -> None:
    chain.pipelines.new("host")
    chain.nodes.new("host", "prep")
    chain.pipelines.new("other")
    chain.nodes.new("other", "stranger")
    url = "/api/pipelines/host/includes"
    hint = {"action": "bundle.input", "params": {"input": "raw"}}

    for feeder in ("nosuch", "stranger", chain.nodes.get("stranger", "other").id):
        body = {"source": served, "namespace": "feat", "inputs": {"raw": feeder}}
        refused = client.post(url, json=body)
        assert error_of(refused, 404, "not_found").startswith("input 'raw': ")
        assert refused.json()["hint"] == hint
    bad_ns = client.post(url, json={"source": served, "namespace": "a/b", "inputs": {}})
    assert bad_ns.json()["details"][0]["loc"] == ["body", "namespace"]
    error_of(bad_ns, 422, "invalid_input")
    bad_slot = client.post(
        url, json={"source": served, "namespace": "f", "inputs": {"a b": "prep"}}
    )
    error_of(bad_slot, 422, "invalid_input")
    for path in (chain.root / "nodepipe.toml", chain.root / "nosuch.whl"):  # there or not
        read = client.post("/api/packages/inputs", json={"source": str(path)})
        assert (
            error_of(read, 422)
            == f"{str(path)!r} is a file on the server: give an http(s) URL or name==version"
        )

    unfed = client.post(url, json={"source": served, "namespace": "feat", "inputs": {}})
    failed = finish_job(client, app, unfed.json())
    assert failed["status"] == "failed"
    assert failed["error"]["hint"] == hint
    assert "input 'raw' is not fed" in failed["error"]["message"]
    other = {"source": served, "namespace": "feat", "inputs": {"raw": "prep", "extra": "prep"}}
    undeclared = finish_job(client, app, client.post(url, json=other).json())
    assert "declares no input 'extra'" in undeclared["error"]["message"]
    assert [item.node.tag for item in chain.pipelines.show("host").nodes] == ["prep"]
    on_server = {"source": str(chain.root / "dist"), "namespace": "feat", "inputs": {}}
    local = finish_job(client, app, client.post(url, json=on_server).json())
    assert "is a file on the server" in local["error"]["message"]

    good = {"source": served, "namespace": "feat", "inputs": {"raw": "prep"}}
    assert finish_job(client, app, client.post(url, json=good).json())["status"] == "succeeded"
    assert "already includes 'feat'" in error_of(client.post(url, json=good), 409, "conflict")


def test_a_node_is_built_as_a_library_into_dist(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    url = "/api/pipelines/baseline/nodes/clean/package"
    started = client.post(url, json={"alias": "np-clean", "version": "2.0"})
    assert started.status_code == 202, started.text
    done = finish_job(client, app, started.json())
    assert done["status"] == "succeeded", done
    wheel = "np_clean-2.0-py3-none-any.whl"
    assert done["message"] == f"built {wheel} and np_clean-2.0.tar.gz"
    assert [f["name"] for f in client.get("/api/packages").json()] == [
        wheel,
        "np_clean-2.0.tar.gz",
    ]
    with zipfile.ZipFile(chain.root / "dist" / wheel) as archive:
        assert "np_clean/__init__.py" in archive.namelist()


def test_a_library_build_is_refused_at_once_for_a_bad_name_or_node(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    chain.pipelines.new("other")
    chain.nodes.new("other", "stranger")
    bad = client.post("/api/pipelines/baseline/nodes/clean/package", json={"alias": "-x"})
    assert "is not a valid package name" in error_of(bad, 422, "invalid_input")
    clean = chain.nodes.get("clean", "baseline").id
    assert bad.json()["hint"] == {
        "action": "library.name",
        "params": {"node": clean, "tag": "clean"},
    }
    version = client.post("/api/pipelines/baseline/nodes/clean/package", json={"version": "x.y"})
    assert "is not a package version" in error_of(version, 422, "invalid_input")
    for node in ("nosuch", "stranger", chain.nodes.get("stranger", "other").id):
        refused = client.post(f"/api/pipelines/baseline/nodes/{node}/package", json={})
        error_of(refused, 404, "not_found")
    assert client.get("/api/packages").json() == []
    assert not (Path(chain.root) / "dist").exists()
