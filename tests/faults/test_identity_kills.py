"""Kill -9 while a workspace of an older nodepipe adopts its identity: the next open finishes.

The store is claimed first (one transaction), then the folder's ``.nodepipe/workspace-id`` is
written. A command killed between the two leaves a store that records this folder and a folder
without its file; the next command writes the file with the store's id, and the workspace opens
as an uninterrupted adoption leaves it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import nodepipe
from support.cli_process import nodepipe_process


def stored_identity(root: Path) -> tuple[str, str] | None:
    with sqlite3.connect(root / ".nodepipe" / "store.sqlite") as connection:
        row = connection.execute("SELECT workspace_id, root FROM workspace_identity").fetchone()
    return (row[0], row[1]) if row else None


def test_an_adoption_killed_after_claiming_the_store_is_finished_by_the_next_open(
    tmp_path: Path,
) -> None:
    root = tmp_path / "lab"
    ws = nodepipe.init(root)
    ws.pipelines.new("base")
    ws.close()
    identity_file = root / ".nodepipe" / "workspace-id"
    with sqlite3.connect(root / ".nodepipe" / "store.sqlite") as connection:
        connection.execute("DELETE FROM workspace_identity")  # a store of an older nodepipe
    identity_file.unlink()

    killed = nodepipe_process(root, "pipeline", "list", crash_at="identity.store-claimed")
    assert killed.returncode == -9, killed.stderr
    claimed = stored_identity(root)
    assert claimed is not None and claimed[1] == str(root)
    assert not identity_file.exists()

    listed = nodepipe_process(root, "pipeline", "list")
    assert listed.returncode == 0, listed.stderr
    assert "base" in listed.stdout
    assert identity_file.read_text().strip() == claimed[0]
    assert stored_identity(root) == claimed
