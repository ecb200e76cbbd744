"""Runs through the API: start in the background, plan, history, node runs, logs, kill."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, ids, wait_runs
from integration.conftest import snapshot
from support.waiting import wait_for

SLEEPER = "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n"


def test_a_run_returns_at_once_and_ends_completed(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    node_ids = ids(chain)
    started = client.post("/api/pipelines/baseline/runs", json={})
    assert started.status_code == 202
    launched = started.json()
    assert launched["run_id"] and launched["pipeline_id"] == chain.pipelines.get("baseline").id
    assert [p["tag"] for p in launched["plan"]["run"]] == ["load", "clean", "plot"]
    wait_runs(app)
    graph = client.get("/api/pipelines/baseline").json()
    assert {n["state"] for n in graph["nodes"]} == {"completed"}
    [run] = client.get("/api/runs", params={"pipeline": "baseline"}).json()
    assert (run["id"], run["status"]) == (launched["run_id"], "completed")
    node_runs = client.get(f"/api/runs/{run['id']}/node-runs").json()
    assert {nr["node_id"] for nr in node_runs} == set(node_ids.values())
    history = client.get("/api/pipelines/baseline/nodes/plot/runs").json()
    assert [nr["state"] for nr in history] == ["completed"]
    log = client.get("/api/pipelines/baseline/nodes/plot/log").json()
    assert "input 01 from clean" in log["text"] and not log["active"]
    assert log["node_run"]["exit_code"] == 0


def test_a_ray_that_cannot_be_reached_is_said_in_menu_words(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    """The hint names what to do in the web app (its menu item words it), not a CLI flag."""
    refused = client.post(
        "/api/pipelines/baseline/runs", json={"executor": "ray", "ray_address": "bad address"}
    )
    message = error_of(refused, 422)
    assert "cannot connect to the Ray cluster at bad address" in message
    assert "--ray-address" not in message and "ray start" not in message
    asked = {"pipeline": "baseline", "executor": "ray", "ray_address": "bad address"}
    assert refused.json()["hint"] == {"action": "ray.connect", "params": asked}
    assert {n.state for n in chain.nodes.list("baseline")} == {nodepipe.NodeState.READY}


def test_nothing_to_run_says_so(client: TestClient, app: FastAPI) -> None:
    client.post("/api/pipelines/baseline/runs", json={})
    wait_runs(app)
    again = client.post("/api/pipelines/baseline/runs", json={}).json()
    assert again["run_id"] is None and again["plan"]["run"] == []
    assert {s["reason"] for s in again["plan"]["skipped"]} == {"up to date"}


def test_selections_and_force(client: TestClient, app: FastAPI) -> None:
    upto = client.post("/api/pipelines/baseline/runs", json={"to": ["clean"]}).json()
    assert [p["tag"] for p in upto["plan"]["run"]] == ["load", "clean"]
    wait_runs(app)
    only = client.post("/api/pipelines/baseline/plan", json={"only": ["load"], "force": True})
    assert [p["reasons"] for p in only.json()["run"]] == [["forced"]]
    frm = client.post("/api/pipelines/baseline/plan", json={"from": ["clean"], "force": True})
    assert [p["tag"] for p in frm.json()["run"]] == ["clean", "plot"]


def test_plan_runs_nothing(client: TestClient, chain: nodepipe.Workspace) -> None:
    before = snapshot(chain)
    plan = client.post("/api/pipelines/baseline/plan", json={}).json()
    assert [p["tag"] for p in plan["run"]] == ["load", "clean", "plot"]
    assert plan["run"][2]["reasons"] == ["never ran", "parent 01 (clean) will run"]
    assert snapshot(chain) == before
    assert client.get("/api/runs").json() == []


def test_run_refusals(client: TestClient, chain: nodepipe.Workspace) -> None:
    error_of(client.post("/api/pipelines/nope/runs", json={}), 404)
    error_of(client.post("/api/pipelines/baseline/runs", json={"only": ["nope"]}), 404)
    error_of(client.post("/api/pipelines/baseline/runs", json={"jobs": 0}), 422)
    error_of(client.post("/api/pipelines/baseline/runs", json={"executor": "slurm"}), 422)
    error_of(client.post("/api/pipelines/baseline/plan", json={"to": ["nope"]}), 404)
    remote = {"executor": "ray", "shared_fs": False}
    assert "[storage] url" in error_of(
        client.post("/api/pipelines/baseline/runs", json=remote), 422
    )
    local = {"shared_fs": False}
    assert "the ray executor" in error_of(
        client.post("/api/pipelines/baseline/runs", json=local), 422
    )
    error_of(client.post("/api/pipelines/baseline/runs", json={"storage": "/etc"}), 422)
    chain.pipelines.lock("baseline")
    error_of(client.post("/api/pipelines/baseline/runs", json={}), 409, "read_only")
    assert client.get("/api/runs").json() == []


def test_history_and_log_refusals(client: TestClient) -> None:
    error_of(client.get("/api/runs/zzzz"), 404)
    error_of(client.get("/api/runs/zzzz2222/node-runs"), 404)
    error_of(client.get("/api/runs", params={"pipeline": "nope"}), 404)
    error_of(client.get("/api/runs", params={"limit": 0}), 422)
    assert "never ran" in error_of(client.get("/api/pipelines/baseline/nodes/load/log"), 404)
    error_of(client.get("/api/pipelines/baseline/nodes/nope/runs"), 404)
    error_of(client.get("/api/pipelines/baseline/nodes/nope/log"), 404)


def test_kill_a_running_node(client: TestClient, app: FastAPI, chain: nodepipe.Workspace) -> None:
    (chain.nodes.path("load") / "code" / "main.py").write_text(SLEEPER)
    assert "nothing to kill" in error_of(
        client.post("/api/pipelines/baseline/kill", json={}), 409, "conflict"
    )
    client.post("/api/pipelines/baseline/runs", json={})

    def running() -> bool:
        graph = client.get("/api/pipelines/baseline").json()
        return any(n["tag"] == "load" and n["state"] == "running" for n in graph["nodes"])

    wait_for(running, "load to be running")
    live = client.get("/api/pipelines/baseline/nodes/load/log").json()
    assert live["active"]
    killed = client.post("/api/pipelines/baseline/kill", json={"nodes": ["load"]})
    assert [nr["node_id"] for nr in killed.json()] == [ids(chain)["load"]]
    wait_runs(app)
    states = {n["tag"]: n["state"] for n in client.get("/api/pipelines/baseline").json()["nodes"]}
    assert states == {"load": "cancelled", "clean": "ready", "plot": "ready"}
    error_of(client.post("/api/pipelines/baseline/kill", json={"nodes": ["nope"]}), 404)
