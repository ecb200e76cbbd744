"""A run's writes through ``sqlite3`` store exactly what SQLAlchemy stores (byte for byte).

The same claim and the same batch of progress are written into two copies of one store, one
through ``StoreSession`` and one through ``light_write.RunWriteSession``; every table of the
two files is then read raw and compared. On PostgreSQL ``run_write()`` is SQLAlchemy's.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from nodepipe.domain.environments import RunEnvironment
from nodepipe.domain.runs import NodeRun, NodeRunState, Run, RunStatus
from nodepipe.domain.states import NodeState
from nodepipe.store.changes import RunUpdates
from nodepipe.store.light_write import RunWrites, RunWriteSession, run_write_session
from nodepipe.store.queries import StoreSession
from nodepipe.store.store import Store

from .test_light_read import make_run
from .test_store_contract import CHAIN, Seeded, make_project, seed_pipeline
from .test_store_runs import START, queued_node_run


def write_a_run(session: RunWrites, chain: Seeded, run: Run, queued: dict[str, NodeRun]) -> None:
    """A claim, then progress: started, completed with an environment, skipped, finished."""
    session.insert_run(run)
    session.insert_node_runs(list(queued.values()))
    session.set_states(dict.fromkeys(chain.ids.values(), ""), NodeState.QUEUED)
    load, clean = queued["load"], queued["clean"]
    later = START + timedelta(seconds=3, microseconds=17)
    updates = RunUpdates()
    updates.node_run(load.id, state=NodeRunState.RUNNING, started_at=START, pid=42, host="h")
    updates.node_run(load.id, state=NodeRunState.COMPLETED, exit_code=0, finished_at=later)
    updates.node(chain.ids["load"], state=NodeState.COMPLETED, state_reason="")
    updates.node(chain.ids["load"], fingerprint='{"code": 1}', output_digest="abc")
    updates.node_run(clean.id, state=NodeRunState.SKIPPED, message="up ✗", finished_at=later)
    updates.run(run.id, status=RunStatus.COMPLETED, finished_at=later)
    updates.environments[load.id] = RunEnvironment("3.12.7", "linux", "c" * 64, {"uv": "a" * 64})
    updates.environments[clean.id] = RunEnvironment("", "linux", "c" * 64, {})
    session.apply_run_updates(updates)


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    connection = sqlite3.connect(path)
    try:
        listed = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = [row[0] for row in listed]
        return {
            t: connection.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables
        }
    finally:
        connection.close()


def test_a_runs_writes_through_sqlite3_store_what_sqlalchemy_stores(tmp_path: Path) -> None:
    first, second = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    store = Store.create(f"sqlite:///{first}")
    project = make_project()
    with store.write() as session:
        session.insert_project(project)
        chain = seed_pipeline(session, project, "chain", CHAIN)
    store.close()
    shutil.copyfile(first, second)
    run = make_run(chain, RunStatus.RUNNING, force=True, finished=False)
    queued = {tag: queued_node_run(run, chain.ids[tag]) for tag in CHAIN}
    store = Store.open(f"sqlite:///{first}")
    with store.write() as session:
        write_a_run(session, chain, run, queued)
    store.close()
    with run_write_session(second) as light:
        write_a_run(light, chain, run, queued)
    expected, got = dump(first), dump(second)
    assert got["node_runs"] and got["node_run_locks"], "the run was written"
    assert got == expected


def test_a_failed_run_write_leaves_nothing(tmp_path: Path) -> None:
    store = Store.create(f"sqlite:///{tmp_path / 'store.sqlite'}")
    project = make_project()
    with store.write() as session:
        session.insert_project(project)
        chain = seed_pipeline(session, project, "chain", CHAIN)
    before = dump(tmp_path / "store.sqlite")
    run = make_run(chain, RunStatus.RUNNING, force=False, finished=False)
    with pytest.raises(sqlite3.IntegrityError), store.run_write() as session:
        session.insert_run(run)
        session.insert_node_runs([queued_node_run(run, "nosuchnode")])  # a dangling node
    assert dump(tmp_path / "store.sqlite") == before
    store.close()


def test_run_write_is_sqlite3_on_sqlite_and_sqlalchemy_elsewhere(store: Store) -> None:
    with store.run_write() as session:
        expected = StoreSession if store.dialect == "postgresql" else RunWriteSession
        assert isinstance(session, expected)
