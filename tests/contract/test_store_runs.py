"""Run history in the store, on SQLite and PostgreSQL: a claim's node runs, then the batched
progress the recorder writes (each row once per batch, with every column it changed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nodepipe.domain.environments import RunEnvironment
from nodepipe.domain.ids import new_id
from nodepipe.domain.runs import NodeRun, NodeRunState, Run, RunStatus
from nodepipe.domain.states import NodeState
from nodepipe.store.changes import Previous, RunUpdates
from nodepipe.store.store import Store

from .test_store_contract import CHAIN, Seeded, make_project, seed_pipeline

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def chain(store: Store) -> Seeded:
    project = make_project()
    with store.write() as session:
        session.insert_project(project)
        return seed_pipeline(session, project, "chain", CHAIN)


def queued_node_run(run: Run, node_id: str) -> NodeRun:
    values = dict.fromkeys(NodeRun.__dataclass_fields__)
    values.update(id=new_id(), run_id=run.id, node_id=node_id, state=NodeRunState.QUEUED)
    values.update(reasons=("never ran",), message="", created_at=START, host="", log_file="")
    values["cancel_requested"] = False
    return NodeRun(**values)


def claim(
    store: Store, chain: Seeded, previous: Previous | None = None, writes: str = "write"
) -> tuple[Run, dict[str, NodeRun]]:
    run = a_run(chain)
    queued = {tag: queued_node_run(run, chain.ids[tag]) for tag in CHAIN}
    with getattr(store, writes)() as session:  # write(), or a run's own run_write()
        session.insert_run(run)
        session.insert_node_runs(list(queued.values()), previous)
        session.set_states(dict.fromkeys(chain.ids.values(), ""), NodeState.QUEUED)
    return run, queued


def a_run(chain: Seeded) -> Run:
    return Run(
        id=new_id(),
        pipeline_id=chain.id,
        pipeline_tag="chain",
        requested_by="me",
        executor="local",
        status=RunStatus.RUNNING,
        jobs=2,
        force=False,
        created_at=START,
        finished_at=None,
        orchestrator_pid=123,
        orchestrator_host="host",
        orchestrator_started="1",
    )


@pytest.mark.parametrize("writes", ["write", "run_write"])
def test_a_claim_keeps_each_nodes_state_from_before_it(
    store: Store, chain: Seeded, writes: str
) -> None:
    """What crash recovery gives back to a node its dead run never started; a node the claim
    was told nothing of (a run claimed before the store kept them) has none."""
    before = {
        chain.ids["load"]: (NodeState.COMPLETED, ""),
        chain.ids["clean"]: (NodeState.FAILED, "exited with code 1"),
    }
    run, queued = claim(store, chain, before, writes)
    with store.read() as session:
        kept = session.previous_states(run.id)
    assert kept == {
        queued["load"].id: (NodeState.COMPLETED, ""),
        queued["clean"].id: (NodeState.FAILED, "exited with code 1"),
    }


def test_a_claim_and_a_batch_of_progress_round_trip(store: Store, chain: Seeded) -> None:
    run, queued = claim(store, chain)
    load, clean = queued["load"], queued["clean"]
    later = START + timedelta(seconds=3)
    updates = RunUpdates()
    updates.node_run(load.id, fingerprint='{"code": 1}', log_file="/logs/a.log")
    updates.node_run(load.id, state=NodeRunState.RUNNING, started_at=START, pid=42, host="h")
    updates.node(chain.ids["load"], state=NodeState.RUNNING, state_reason="")
    updates.node_run(
        load.id, state=NodeRunState.COMPLETED, exit_code=0, message="", finished_at=later
    )
    updates.node(chain.ids["load"], state=NodeState.COMPLETED, state_reason="")
    updates.node(chain.ids["load"], fingerprint='{"code": 1}', output_digest="abc")
    updates.node_run(
        clean.id, state=NodeRunState.SKIPPED, message="upstream failed", finished_at=later
    )
    updates.run(run.id, status=RunStatus.COMPLETED, finished_at=later)
    with store.write() as session:
        session.apply_run_updates(updates)
    with store.read() as session:
        rows = {nr.id: nr for nr in session.node_runs_of_run(run.id)}
        nodes = session.get_nodes(chain.ids.values())
        stored_run = session.get_run(run.id)
        fingerprints = session.node_fingerprints([chain.ids["load"]])
    ran = rows[load.id]
    assert (ran.state, ran.exit_code, ran.pid, ran.host) == (NodeRunState.COMPLETED, 0, 42, "h")
    assert (ran.started_at, ran.finished_at, ran.log_file) == (START, later, "/logs/a.log")
    assert ran.reasons == ("never ran",) and ran.duration_seconds == 3
    assert rows[clean.id].state is NodeRunState.SKIPPED
    assert rows[clean.id].message == "upstream failed"
    assert rows[queued["train"].id].state is NodeRunState.QUEUED
    assert nodes[chain.ids["load"]].state is NodeState.COMPLETED
    assert nodes[chain.ids["train"]].state is NodeState.QUEUED
    assert fingerprints[chain.ids["load"]] == ('{"code": 1}', "abc")
    assert stored_run is not None and stored_run.status is RunStatus.COMPLETED
    assert stored_run.finished_at == later


def test_what_node_runs_started_with_is_kept_with_them_and_goes_with_their_run(
    store: Store, chain: Seeded
) -> None:
    _, queued = claim(store, chain)
    lock, code = "a" * 64, "b" * 64
    recorded = RunEnvironment("3.12.7", "linux-x86_64 glibc 2.36", code, {"uv": lock})
    updates = RunUpdates()
    updates.node_run(queued["load"].id, state="running", started_at=START, pid=42, host="h")
    updates.environments[queued["load"].id] = recorded
    updates.environments[queued["clean"].id] = RunEnvironment("", "linux", code, {})
    with store.write() as session:
        session.apply_run_updates(updates)
    with store.read() as session:
        assert session.run_environment(queued["load"].id) == recorded
        assert session.run_environment(queued["clean"].id) == RunEnvironment("", "linux", code)
        assert session.run_environment(queued["train"].id) is None
    with store.write() as session:  # deleting a node takes its runs' records with them
        session.delete_node(chain.ids["load"])
    with store.read() as session:
        assert session.run_environment(queued["load"].id) is None
