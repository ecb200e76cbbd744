"""Copies as background jobs (branch, duplicate, merge, duplicate nodes, detach), references."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, finish_job, ids
from integration.conftest import snapshot


def start(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert job["status"] in ("running", "succeeded", "failed")
    return job


def test_branch_shares_upstream_and_copies_the_rest(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    job = start(client, "/api/pipelines/baseline/branches", {"from_node": "clean", "tag": "v2"})
    done = finish_job(client, app, job)
    assert done["status"] == "succeeded" and done["error"] is None
    graph = client.get(f"/api/pipelines/{done['pipeline_id']}").json()
    kinds = {n["tag"]: n["reference"] for n in graph["nodes"]}
    assert kinds == {"load": True, "clean": False, "plot": False}
    assert [(item["kind"]) for item in graph["lineage"]] == ["branch"]
    lineage = client.get("/api/projects/climate").json()["lineage"]
    assert [item["kind"] for item in lineage] == ["branch"]


def test_duplicate_and_merge_pipelines(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    copy = finish_job(client, app, start(client, "/api/pipelines/baseline/copies", {"tag": "copy"}))
    assert copy["status"] == "succeeded" and len(copy["node_ids"]) == 3
    merged = finish_job(
        client,
        app,
        start(client, "/api/pipelines/merges", {"sources": ["baseline", "copy"], "tag": "both"}),
    )
    assert merged["status"] == "succeeded"
    assert "load of copy → load-copy" in merged["message"]  # the web app shows it
    tags = sorted(n["tag"] for n in client.get("/api/pipelines/both").json()["nodes"])
    assert tags == ["clean", "clean-copy", "load", "load-copy", "plot", "plot-copy"]
    body = {"sources": ["baseline", "copy"], "tag": "same", "allow_duplicate_tag": True}
    kept = finish_job(client, app, start(client, "/api/pipelines/merges", body))
    assert kept["status"] == "succeeded" and "renamed" not in kept["message"]
    tags = sorted(n["tag"] for n in client.get("/api/pipelines/same").json()["nodes"])
    assert tags == ["clean", "clean", "load", "load", "plot", "plot"]


def test_names_are_checked_before_a_job_starts(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    before = snapshot(chain)
    error_of(client.post("/api/pipelines/nope/copies", json={"tag": "x"}), 404)
    error_of(
        client.post("/api/pipelines/baseline/branches", json={"from_node": "x", "tag": "y"}), 404
    )
    error_of(
        client.post("/api/pipelines/merges", json={"sources": ["baseline", "no"], "tag": "m"}), 404
    )
    error_of(client.post("/api/pipelines/merges", json={"sources": ["baseline"], "tag": "m"}), 422)
    error_of(client.post("/api/pipelines/baseline/duplicates", json={"nodes": ["x"]}), 404)
    error_of(client.post("/api/pipelines/baseline/detachments", json={"nodes": []}), 422)
    assert snapshot(chain) == before


def test_a_tag_taken_is_refused_before_a_job_starts_naming_its_field(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    """A copy's refusals are the request's answer, not its job's error: the web app says them
    beside the field the tag was typed in, its dialog still open."""
    client.post("/api/pipelines", json={"tag": "other"})
    chain.nodes.new("other", "clean")
    before = snapshot(chain)
    taken = "a pipeline tagged 'baseline' already exists"
    for path, body in [
        ("/api/pipelines/baseline/copies", {"tag": "baseline"}),
        ("/api/pipelines/baseline/branches", {"from_node": "clean", "tag": "baseline"}),
        ("/api/pipelines/merges", {"sources": ["baseline", "other"], "tag": "baseline"}),
    ]:
        refused = client.post(path, json=body)
        assert taken in error_of(refused, 409, "conflict")
        assert [d["loc"] for d in refused.json()["details"]] == [["body", "tag"]]
    duplicate = {"nodes": ["load"], "into": "other", "tag": "clean"}
    refused = client.post("/api/pipelines/baseline/duplicates", json=duplicate)
    assert "already has a node tagged 'clean'" in error_of(refused, 409, "conflict")
    assert refused.json()["hint"]["action"] == "tag.duplicate"
    assert [d["loc"] for d in refused.json()["details"]] == [["body", "tag"]]
    twice = {"sources": ["baseline", "baseline"], "tag": "m"}
    same = client.post("/api/pipelines/merges", json=twice)
    assert "two different pipelines" in error_of(same, 422, "invalid_input")
    several = {"nodes": ["load", "clean"], "tag": "both"}
    error_of(client.post("/api/pipelines/baseline/duplicates", json=several), 422)
    chain.pipelines.lock("other")
    into = {"nodes": ["load"], "into": "other"}
    locked = client.post("/api/pipelines/baseline/duplicates", json=into)
    assert "is locked" in error_of(locked, 409, "read_only")
    chain.pipelines.unlock("other")
    error_of(client.post("/api/pipelines/baseline/copies", json={"tag": "c", "project": "no"}), 404)
    assert snapshot(chain) == before
    error_of(client.get("/api/jobs/zzzz2222"), 404, "not_found")


def test_duplicate_nodes_into_this_or_another_pipeline(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    here = finish_job(
        client, app, start(client, "/api/pipelines/baseline/duplicates", {"nodes": ["clean"]})
    )
    assert here["status"] == "succeeded" and len(here["node_ids"]) == 1
    tags = [n["tag"] for n in client.get("/api/pipelines/baseline").json()["nodes"]]
    assert sorted(tags) == ["clean", "clean-copy", "load", "plot"]  # a tag of its own
    client.post("/api/pipelines", json={"tag": "other"})
    load = ids(chain)["load"]
    there = finish_job(
        client,
        app,
        start(
            client,
            "/api/pipelines/baseline/duplicates",
            {"nodes": [load], "into": "other", "with_data": True},
        ),
    )
    assert there["status"] == "succeeded"
    assert [n["tag"] for n in client.get("/api/pipelines/other").json()["nodes"]] == ["load"]


def test_a_reference_whose_tag_is_taken_is_refused_with_a_hint(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    client.post("/api/pipelines", json={"tag": "other"})
    mine = chain.nodes.new("other", "clean")
    refused = client.post(
        "/api/pipelines/baseline/references", json={"nodes": ["clean"], "into": "other"}
    )
    assert "already has a node tagged 'clean'" in error_of(refused, 409, "conflict")
    hint = refused.json()["hint"]
    assert hint["action"] == "node.rename" and hint["params"]["node"] == mine.id
    assert [n["tag"] for n in client.get("/api/pipelines/other").json()["nodes"]] == ["clean"]
    allowed = client.post(
        "/api/pipelines/baseline/references",
        json={"nodes": ["clean"], "into": "other", "allow_duplicate_tag": True},
    )
    assert allowed.status_code == 200 and len(allowed.json()) == 2


def test_reference_then_detach(client: TestClient, app: FastAPI, chain: nodepipe.Workspace) -> None:
    client.post("/api/pipelines", json={"tag": "other"})
    added = client.post(
        "/api/pipelines/baseline/references", json={"nodes": ["clean"], "into": "other"}
    )
    assert added.status_code == 200 and len(added.json()) == 2  # clean and its parent load
    again = client.post(
        "/api/pipelines/baseline/references", json={"nodes": ["clean"], "into": "other"}
    )
    assert "already shows" in error_of(again, 409, "conflict")
    error_of(
        client.post("/api/pipelines/baseline/references", json={"nodes": ["clean"], "into": "no"}),
        404,
    )
    done = finish_job(
        client, app, start(client, "/api/pipelines/other/detachments", {"nodes": ["clean"]})
    )
    assert done["status"] == "succeeded"
    graph = client.get("/api/pipelines/other").json()
    assert {n["tag"]: n["reference"] for n in graph["nodes"]} == {"load": True, "clean": False}
    owned = finish_job(
        client, app, start(client, "/api/pipelines/baseline/detachments", {"nodes": ["plot"]})
    )
    assert owned["status"] == "failed" and owned["error"]["kind"] == "conflict"


def test_duplicate_with_a_tag_then_replace(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    body = {"nodes": ["clean"], "tag": "clean-v2"}
    job = finish_job(client, app, start(client, "/api/pipelines/baseline/duplicates", body))
    assert job["status"] == "succeeded", job
    again = client.post("/api/pipelines/baseline/duplicates", json=body)  # at once, no job
    assert "already has a node tagged" in error_of(again, 409, "conflict")
    replaced = client.post(
        "/api/pipelines/baseline/replacements", json={"old": "clean", "new": "clean-v2"}
    )
    assert replaced.status_code == 200, replaced.text
    answer = replaced.json()
    assert answer["rewired"] == ["01: plot"] and answer["removal"]["deleted"] == [
        answer["old"]["id"]
    ]
    graph = client.get("/api/pipelines/baseline").json()
    tags = {n["id"]: n["tag"] for n in graph["nodes"]}
    assert sorted(tags.values()) == ["clean-v2", "load", "plot"]
    edges = sorted((tags[e["parent_id"]], tags[e["child_id"]]) for e in graph["edges"])
    assert edges == [("clean-v2", "plot"), ("load", "clean-v2")]
