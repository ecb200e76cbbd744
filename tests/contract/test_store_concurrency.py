"""Concurrent writers queue up (BEGIN IMMEDIATE / advisory lock) instead of failing or racing.

Each writer does a read-modify-write: it counts the projects, then adds ``project-<count>``.
Project names are unique, so two writers that both counted before either committed would
collide; if write transactions are serialised, every writer sees the previous one's commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Project
from nodepipe.store.store import Store

CREATED_AT = datetime(2024, 5, 17, 13, 45, tzinfo=UTC)
TIMEOUT_S = 60


def add_numbered_project(store: Store, *, hold: threading.Event | None = None) -> None:
    """Count the projects and add the next numbered one, in one write transaction.

    With ``hold``, signal it after counting, then keep the transaction open a little while.
    """
    with store.write() as session:
        number = len(session.list_projects())
        if hold is not None:
            hold.set()
            time.sleep(0.3)
        name = f"project-{number}"
        session.insert_project(Project(id=new_id(), name=name, notes="", created_at=CREATED_AT))


def project_names(store: Store) -> set[str]:
    with store.read() as session:
        return {project.name for project in session.list_projects()}


def run_overlapping_writers(first: Store, second: Store) -> None:
    """``second`` starts its write while ``first`` is inside its own write transaction."""
    first_inside = threading.Event()

    def second_writer() -> None:
        assert first_inside.wait(TIMEOUT_S)
        add_numbered_project(second)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(add_numbered_project, first, hold=first_inside),
            pool.submit(second_writer),
        ]
        for future in futures:
            future.result(timeout=TIMEOUT_S)


def test_two_writers_on_one_store_both_commit(store: Store) -> None:
    run_overlapping_writers(store, store)
    assert project_names(store) == {"project-0", "project-1"}


def test_two_store_objects_on_one_database_both_commit(
    store: Store, open_store: Callable[[], Store]
) -> None:
    run_overlapping_writers(store, open_store())
    assert project_names(store) == {"project-0", "project-1"}


def test_many_writers_queue_up(store: Store, open_store: Callable[[], Store]) -> None:
    stores = [store, store, open_store(), open_store()]
    writes_each = 5

    def writer(own_store: Store) -> None:
        for _ in range(writes_each):
            add_numbered_project(own_store)

    with ThreadPoolExecutor(max_workers=len(stores)) as pool:
        for future in [pool.submit(writer, s) for s in stores]:
            future.result(timeout=TIMEOUT_S)
    assert project_names(store) == {f"project-{n}" for n in range(len(stores) * writes_each)}


def test_a_read_neither_waits_for_nor_sees_an_open_write(store: Store) -> None:
    writer_inside, reader_done = threading.Event(), threading.Event()

    def writer() -> None:
        with store.write() as session:
            session.insert_project(
                Project(id=new_id(), name="uncommitted", notes="", created_at=CREATED_AT)
            )
            writer_inside.set()
            reader_done.wait(TIMEOUT_S)

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(writer)
        assert writer_inside.wait(TIMEOUT_S)
        try:
            seen_during_write = project_names(store)
        finally:
            reader_done.set()
        future.result(timeout=TIMEOUT_S)
    assert seen_during_write == set()
    assert project_names(store) == {"uncommitted"}


def test_a_read_sees_one_snapshot_whatever_commits_during_it(
    store: Store, open_store: Callable[[], Store]
) -> None:
    """Every query of one read transaction sees the store as of its first: a project deleted
    by another process between two of them is still there for the second (on PostgreSQL too,
    whose default isolation gives each statement a snapshot of its own)."""
    other = open_store()
    kept = Project(id=new_id(), name="kept", notes="", created_at=CREATED_AT)
    with store.write() as session:
        session.insert_project(kept)
    with store.read() as session:
        first = {project.name for project in session.list_projects()}
        with other.write() as writer:
            writer.delete_project(kept.id)
        second = {project.name for project in session.list_projects()}
        found = session.get_project(kept.id)
    assert first == second == {"kept"}
    assert found == kept
    assert project_names(store) == set()
