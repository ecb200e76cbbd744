"""A pipeline's declared bundle inputs (``[inputs]``: input name → the nodes that take it), as
every surface shows the pipeline: the Python API's view, ``pipeline show`` (its text and its
``--json``, which is the API's answer) and the API's pipeline, kept up to date by the web app's
answer after an export declares new ones; and the merge job's message warns of an input name
two sources declare for different nodes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import finish_job, ids
from nodepipe.cli.app import app as cli_app


def cli(root: Path, *command: str) -> str:
    result = CliRunner().invoke(cli_app, ["-w", str(root), *command])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_every_surface_shows_the_inputs_a_pipeline_declares(
    chain: nodepipe.Workspace, client: TestClient, tmp_path: Path
) -> None:
    node = ids(chain)
    assert chain.pipelines.show("baseline").declared_inputs == {}
    assert client.get("/api/pipelines/baseline").json()["declared_inputs"] == {}

    chain.bundles.export("baseline", tmp_path / "a", inputs={"raw": ["load", "clean"]})
    chain.bundles.export("baseline", tmp_path / "b", inputs={"labels": ["plot"], "raw": ["load"]})
    wanted = {"labels": (node["plot"],), "raw": (node["load"],)}
    assert chain.pipelines.show("baseline").declared_inputs == wanted
    answer = client.get("/api/pipelines/baseline").json()  # built again from the last answer
    listed = {name: list(node_ids) for name, node_ids in wanted.items()}
    assert answer["declared_inputs"] == listed
    root = chain.context.layout.root
    assert json.loads(cli(root, "pipeline", "show", "baseline", "--json")) == answer
    text = cli(root, "pipeline", "show", "baseline")
    assert "bundle input labels: taken by plot" in text
    assert "bundle input raw: taken by load" in text

    chain.nodes.rename("load", "fetch", pipeline="baseline")  # by node id: the new tag shows
    assert "bundle input raw: taken by fetch" in cli(root, "pipeline", "show", "baseline")


def test_the_merge_job_warns_of_an_input_two_sources_declare_for_different_nodes(
    chain: nodepipe.Workspace, client: TestClient, app: FastAPI, tmp_path: Path
) -> None:
    chain.bundles.export("baseline", tmp_path / "a", inputs={"raw": ["load"]})
    chain.pipelines.new("alpha")
    chain.nodes.new("alpha", "prep")
    chain.bundles.export("alpha", tmp_path / "b", inputs={"raw": ["prep"]})
    job = client.post("/api/pipelines/merges", json={"sources": ["baseline", "alpha"], "tag": "m"})
    assert job.status_code == 202, job.text
    record = finish_job(client, app, job.json())
    assert record["status"] == "succeeded", record
    assert (
        "warning: input 'raw' is declared by baseline (taken by load) and by alpha (taken by "
        "prep)" in record["message"]
    )
    merged = client.get("/api/pipelines/m").json()
    tags = {item["id"]: item["tag"] for item in merged["nodes"]}
    assert {k: sorted(tags[i] for i in v) for k, v in merged["declared_inputs"].items()} == {
        "raw": ["load", "prep"]
    }
