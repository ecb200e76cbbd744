"""``/api/pipelines``: list, create, the graph, update, delete, status and positions."""

from __future__ import annotations

from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, ids
from integration.conftest import snapshot


def test_create_list_and_filter_by_project(client: TestClient) -> None:
    created = client.post("/api/pipelines", json={"tag": "variant", "notes": "n"})
    assert created.status_code == 201
    assert created.json()["tag"] == "variant"
    tags = {p["tag"] for p in client.get("/api/pipelines").json()}
    assert tags == {"baseline", "variant"}
    in_climate = client.get("/api/pipelines", params={"project": "climate"}).json()
    assert [p["tag"] for p in in_climate] == ["baseline"]
    error_of(client.get("/api/pipelines", params={"project": "nope"}), 404)


def test_graph_has_nodes_in_place_edges_with_slots_and_groups(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    chain.groups.new("baseline", "prep", ["load", "clean"])
    graph = client.get("/api/pipelines/baseline").json()
    assert graph["pipeline"]["tag"] == "baseline" and graph["project"]["name"] == "climate"
    nodes = {n["tag"]: n for n in graph["nodes"]}
    assert set(nodes) == {"load", "clean", "plot"}
    assert {n["state"] for n in nodes.values()} == {"ready"}
    assert not any(n["reference"] or n["locked"] for n in nodes.values())
    edges = {(e["parent_id"], e["child_id"]): e["slot"] for e in graph["edges"]}
    assert edges == {
        (nodes["load"]["id"], nodes["clean"]["id"]): "01",
        (nodes["clean"]["id"], nodes["plot"]["id"]): "01",
    }
    [group] = graph["groups"]
    assert group["name"] == "prep" and not group["collapsed"]
    assert nodes["load"]["group_id"] == group["id"] and nodes["plot"]["group_id"] is None


def test_update_renames_annotates_moves_locks_and_unlocks(client: TestClient) -> None:
    client.post("/api/projects", json={"name": "ocean"})
    body = {"tag": "base", "notes": "hello", "project": "ocean", "locked": True}
    updated = client.patch("/api/pipelines/baseline", json=body).json()
    assert (updated["tag"], updated["notes"], updated["locked"]) == ("base", "hello", True)
    ocean = client.get("/api/projects/ocean").json()
    assert [p["tag"] for p in ocean["pipelines"]] == ["base"]
    message = error_of(client.patch("/api/pipelines/base", json={"tag": "x"}), 409, "read_only")
    assert "locked" in message
    unlocked = client.patch("/api/pipelines/base", json={"locked": False, "tag": "x"}).json()
    assert (unlocked["tag"], unlocked["locked"]) == ("x", False)


def test_pipeline_refusals_change_nothing(client: TestClient, chain: nodepipe.Workspace) -> None:
    client.post("/api/pipelines", json={"tag": "other"})
    before = snapshot(chain)
    error_of(client.post("/api/pipelines", json={"tag": "baseline"}), 409, "conflict")
    error_of(client.post("/api/pipelines", json={"tag": ".."}), 422, "invalid_input")
    error_of(client.post("/api/pipelines", json={"tag": "y", "project": "nope"}), 404)
    error_of(client.patch("/api/pipelines/other", json={"tag": "baseline"}), 409)
    error_of(client.patch("/api/pipelines/other", json={"project": "nope"}), 404)
    error_of(client.get("/api/pipelines/nope"), 404, "not_found")
    error_of(client.delete("/api/pipelines/nope"), 404)
    assert snapshot(chain) == before


def test_delete_reports_what_went(client: TestClient, chain: nodepipe.Workspace) -> None:
    node_ids = ids(chain)
    report = client.delete("/api/pipelines/baseline").json()
    assert set(report["deleted"]) == set(node_ids.values())
    assert not any((chain.root / "nodes" / i).exists() for i in node_ids.values())
    error_of(client.get("/api/pipelines/baseline"), 404)


def test_locked_pipeline_cannot_be_deleted(client: TestClient, chain: nodepipe.Workspace) -> None:
    chain.pipelines.lock("baseline")
    before = snapshot(chain)
    error_of(client.delete("/api/pipelines/baseline"), 409, "read_only")
    assert snapshot(chain) == before


def test_status_gives_effective_states_with_reasons(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    status = client.get("/api/pipelines/baseline/status").json()
    by_id = {n["node_id"]: n for n in status["nodes"]}
    plot = by_id[ids(chain)["plot"]]
    assert plot["state"] == "ready"
    assert "never ran" in plot["reasons"]
    assert "parent 01 (clean) never ran" in plot["reasons"]
    error_of(client.get("/api/pipelines/nope/status"), 404)


def test_positions_are_kept_per_pipeline(client: TestClient, chain: nodepipe.Workspace) -> None:
    node_ids = ids(chain)
    body = {"positions": [{"node_id": node_ids["load"], "x": 10.5, "y": -20}]}
    assert client.put("/api/pipelines/baseline/positions", json=body).json() == {"placed": 1}
    graph = client.get("/api/pipelines/baseline").json()
    load = next(n for n in graph["nodes"] if n["tag"] == "load")
    assert (load["x"], load["y"]) == (10.5, -20.0)


def test_positions_refusals_change_nothing(client: TestClient, chain: nodepipe.Workspace) -> None:
    before = snapshot(chain)
    unknown = {"positions": [{"node_id": "zz22zz22", "x": 0, "y": 0}]}
    error_of(client.put("/api/pipelines/baseline/positions", json=unknown), 404)
    error_of(client.put("/api/pipelines/nope/positions", json={"positions": []}), 404)
    load = ids(chain)["load"]
    not_finite = f'{{"positions": [{{"node_id": "{load}", "x": NaN, "y": 0}}]}}'
    response = client.put(
        "/api/pipelines/baseline/positions",
        content=not_finite,
        headers={"content-type": "application/json"},
    )
    error_of(response, 422)
    assert snapshot(chain) == before
