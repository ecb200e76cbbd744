"""``Store.changes.token()`` differs after every committed write, whoever made it (this store,
another store object, another process), and stays the same while the store is only read: the
web app serves a kept answer again only on an equal token (``live.pipeline_answers``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Project
from nodepipe.store.store import Store

WRITER = """
import sys
from nodepipe.store.store import Store
store = Store.open(sys.argv[1])
with store.write() as session:
    session.update_project(sys.argv[2], notes="written by another process")
store.close()
"""


def add_project(store: Store, name: str) -> str:
    project = Project(new_id(), name, "", datetime.now(UTC))
    with store.write() as session:
        session.insert_project(project)
    return project.id


def test_reading_keeps_the_token_and_every_write_changes_it(
    store: Store, open_store: Callable[[], Store], store_url: str
) -> None:
    project = add_project(store, "first")
    before = store.changes.token()
    with store.read() as session:
        session.list_pipelines()
    with store.light_read() as light:
        light.list_pipelines()
    assert store.changes.token() == before  # reads change nothing

    with store.write() as session:  # this store's own write
        session.update_project(project, notes="one")
    after_own = store.changes.token()
    assert after_own != before

    other = open_store()  # another store object: another connection
    with other.write() as session:
        session.update_project(project, notes="two")
    after_other = store.changes.token()
    assert after_other not in (before, after_own)

    subprocess.run([sys.executable, "-c", WRITER, store_url, project], check=True, timeout=60)
    after_process = store.changes.token()
    assert after_process not in (before, after_own, after_other)
    assert store.changes.token() == after_process


def test_an_sqlite_store_file_replaced_changes_the_token(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    store = Store.create(f"sqlite:///{path}")
    try:
        add_project(store, "first")
        copy = path.with_name("copy.sqlite")
        shutil.copyfile(path, copy)
        before = store.changes.token()
        assert store.changes.token() == before
        copy.replace(path)  # a restore or a rebuild puts another file in its place
        assert store.changes.token() != before
    finally:
        store.close()
