"""Past environments through the API: what a node run ran with, its stored lock texts, and
putting them back (``env restore``, ``node restore``), with the errors every route gives."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of
from nodepipe.services.runs.service import RunRequest
from nodepipe.store.schema import node_run_environments


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
