"""A pipeline's run history through the API (and the CLI's --json, the same JSON): who started
each run, when, what ran, how it ended and how long, a page at a time; each node's last run."""

from __future__ import annotations

import getpass
import json
from datetime import datetime, timedelta

from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, ids, wait_runs
from nodepipe.cli.app import app as cli_app

FAILING = "raise ValueError('no rows')\n"


def _run(client: TestClient, app: FastAPI, **body: object) -> str:
    launched = client.post("/api/pipelines/baseline/runs", json=body).json()
    wait_runs(app)
    run_id: str = launched["run_id"]
    return run_id


def test_history_says_who_when_what_ran_outcome_and_duration(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    first = _run(client, app)
    (chain.nodes.path("clean") / "code" / "main.py").write_text(FAILING)
    second = _run(client, app, force=True)
    page = client.get("/api/pipelines/baseline/history").json()
    assert [r["run"]["id"] for r in page["runs"]] == [second, first]  # newest first
    assert page["next_before"] is None
    failed, completed = page["runs"]
    assert completed["run"]["requested_by"] == getpass.getuser()
    assert completed["run"]["status"] == "completed"
    counts = ("asked", "ran", "completed", "failed", "cancelled", "skipped")
    assert [completed[k] for k in counts] == [3, 3, 3, 0, 0, 0]
    # clean failed: plot, its child, was skipped and never started
    assert failed["run"]["status"] == "failed"
    assert [failed[k] for k in counts] == [3, 2, 1, 1, 0, 1]
    run = completed["run"]
    took = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["created_at"])
    assert completed["duration_seconds"] == took.total_seconds() > 0


def test_history_comes_a_page_at_a_time(client: TestClient, app: FastAPI) -> None:
    made = [_run(client, app, force=True, only=["load"]) for _ in range(3)]
    first = client.get("/api/pipelines/baseline/history", params={"limit": 2}).json()
    assert [r["run"]["id"] for r in first["runs"]] == made[:0:-1]
    assert first["next_before"] is not None
    rest = client.get(
        "/api/pipelines/baseline/history", params={"limit": 2, "before": first["next_before"]}
    ).json()
    assert [r["run"]["id"] for r in rest["runs"]] == [made[0]]
    assert rest["next_before"] is None


def test_history_of_a_pipeline_that_never_ran_and_refusals(client: TestClient) -> None:
    assert client.get("/api/pipelines/baseline/history").json() == {
        "runs": [],
        "next_before": None,
    }
    error_of(client.get("/api/pipelines/nope/history"), 404)
    error_of(client.get("/api/pipelines/baseline/history", params={"limit": 0}), 422)
    error_of(client.get("/api/pipelines/baseline/history", params={"limit": 10**9}), 422)
    error_of(client.get("/api/pipelines/baseline/history", params={"before": "soon"}), 422)
    error_of(client.get("/api/pipelines/nope/last-runs"), 404)


def test_last_runs_give_each_node_its_latest_duration(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    node_ids = ids(chain)
    assert client.get("/api/pipelines/baseline/last-runs").json() == []
    _run(client, app)
    second = _run(client, app, force=True, only=["load"])
    last = {nr["node_id"]: nr for nr in client.get("/api/pipelines/baseline/last-runs").json()}
    assert set(last) == set(node_ids.values())
    assert last[node_ids["load"]]["run_id"] == second
    assert last[node_ids["plot"]]["run_id"] != second
    assert all(nr["duration_seconds"] > 0 for nr in last.values())


def test_cli_history_prints_the_runs(client: TestClient, app: FastAPI) -> None:
    _run(client, app)
    table = CliRunner().invoke(cli_app, ["history", "baseline"])
    assert table.exit_code == 0, table.output
    assert getpass.getuser() in table.output and "completed" in table.output
    assert "3/3 ran" in table.output


def test_a_time_without_an_offset_is_the_local_time(client: TestClient, app: FastAPI) -> None:
    """``history --before "2026-12-07 05:00:00"`` (a format the option takes) and the same
    time without an offset through the API ended in a traceback (the store keeps only moments
    with an offset); a time typed without one is the local time."""
    made = _run(client, app)
    after = (datetime.now() + timedelta(minutes=1)).replace(microsecond=0)  # local, naive
    earlier = after - timedelta(days=1)
    for when, runs in ((after, [made]), (earlier, [])):
        typed = when.strftime("%Y-%m-%d %H:%M:%S")
        shown = CliRunner().invoke(cli_app, ["history", "baseline", "--before", typed, "--json"])
        assert shown.exit_code == 0, shown.output
        assert [r["run"]["id"] for r in json.loads(shown.output)["runs"]] == runs
        page = client.get("/api/pipelines/baseline/history", params={"before": when.isoformat()})
        assert page.status_code == 200, page.text
        assert [r["run"]["id"] for r in page.json()["runs"]] == runs
