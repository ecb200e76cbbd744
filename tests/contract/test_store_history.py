"""A pipeline's run history in the store, on SQLite and PostgreSQL: runs with their node runs
counted in one statement, a page at a time, and each node's last finished run."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from nodepipe.domain.runs import NodeRunState, RunStatus
from nodepipe.store.run_queries import RunUpdates
from nodepipe.store.store import Store

from .test_store_contract import Seeded
from .test_store_runs import START, chain, claim

__all__ = ["chain"]  # the fixture, used by name


def test_runs_are_counted_and_paged_newest_first(store: Store, chain: Seeded) -> None:
    older, queued = claim(store, chain)
    later = START + timedelta(seconds=5)
    updates = RunUpdates()
    load, clean = queued["load"], queued["clean"]
    updates.node_run(load.id, state=NodeRunState.FAILED, started_at=START, finished_at=later)
    updates.node_run(clean.id, state=NodeRunState.SKIPPED, finished_at=later)
    updates.run(older.id, status=RunStatus.FAILED, finished_at=later)
    with store.write() as session:
        session.apply_run_updates(updates)
        newer = replace(older, id="newer000", created_at=later, status=RunStatus.RUNNING)
        session.insert_run(newer)
    with store.read() as session:
        page = session.run_summaries(chain.id, 10)
        [only_newer] = session.run_summaries(chain.id, 1)
        [only_older] = session.run_summaries(chain.id, 10, before=later)
    assert [s.run.id for s in page] == [newer.id, older.id]
    assert only_newer.run.id == newer.id and only_older.run.id == older.id
    assert (only_newer.asked, only_newer.ran, only_newer.duration_seconds) == (0, 0, None)
    counted = (only_older.asked, only_older.ran, only_older.failed, only_older.skipped)
    assert counted == (len(queued), 1, 1, 1)
    assert only_older.duration_seconds == 5.0


def test_the_last_finished_run_of_each_node(store: Store, chain: Seeded) -> None:
    _, queued = claim(store, chain)
    second, again = claim(store, chain)
    updates = RunUpdates()
    load_at = START + timedelta(seconds=2)
    for node_run, took in ((queued["load"], 1), (again["load"], 3), (queued["clean"], 4)):
        ended = load_at + timedelta(seconds=took * 10)
        updates.node_run(
            node_run.id,
            state=NodeRunState.COMPLETED,
            started_at=ended - timedelta(seconds=took),
            finished_at=ended,
        )
    with store.write() as session:
        session.apply_run_updates(updates)
    with store.read() as session:
        last = {nr.node_id: nr for nr in session.last_node_runs(chain.id)}
    assert set(last) == {chain.ids["load"], chain.ids["clean"]}  # the others never finished
    assert last[chain.ids["load"]].run_id == second.id
    assert last[chain.ids["load"]].duration_seconds == 3.0
    assert last[chain.ids["clean"]].duration_seconds == 4.0
