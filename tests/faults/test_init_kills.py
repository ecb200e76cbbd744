"""Kill -9 at each step of ``nodepipe init``: nothing half-made that later commands misread.

``init`` makes ``.nodepipe/`` and ``nodes/``, the store, the project ``default``, and last
``nodepipe.toml`` (what marks a folder as a workspace). Killed at each step, the folder is not
taken for a workspace (commands say there is none and name ``nodepipe init``), and ``init``
again finishes it: one project ``default``, ``status`` and ``doctor`` work, no cut-short save
left. (Before, the second ``init`` refused the folder as "not empty" and suggested another.)
A folder that holds more than a killed init leaves is still refused.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from support.cli_process import nodepipe_process

POINTS = [
    "init.directories",
    "init.store-created",
    "identity.store-claimed",  # the store carries the workspace's id, the folder not yet
    "init.project",
    "aside-written.toml",
]


@pytest.mark.parametrize("point", POINTS)
def test_init_killed_at_each_step_is_finished_by_the_next_init(tmp_path: Path, point: str) -> None:
    root = tmp_path / "lab"
    killed = nodepipe_process(tmp_path, "init", str(root), crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (root / ".nodepipe").is_dir() and not (root / "nodepipe.toml").exists()

    looked = nodepipe_process(root, "project", "list")
    assert looked.returncode != 0
    assert "no nodepipe workspace" in looked.stderr and "nodepipe init" in looked.stderr

    again = nodepipe_process(tmp_path, "init", str(root))
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in root.iterdir()) == [".nodepipe", "nodepipe.toml", "nodes"]
    with sqlite3.connect(root / ".nodepipe" / "store.sqlite") as connection:
        stored = connection.execute("SELECT workspace_id, root FROM workspace_identity").fetchall()
    workspace_id = (root / ".nodepipe" / "workspace-id").read_text().strip()
    assert stored == [(workspace_id, str(root))]  # one identity, on both sides
    listed = nodepipe_process(root, "project", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [p["name"] for p in json.loads(listed.stdout)] == ["default"]
    assert nodepipe_process(root, "pipeline", "new", "main").returncode == 0
    shown = nodepipe_process(root, "status", "main", "--json")
    assert shown.returncode == 0, shown.stderr
    doctor = nodepipe_process(root, "doctor", "--json")
    assert doctor.returncode == 0, doctor.stderr
    assert [c for c in json.loads(doctor.stdout)["categories"] if c["count"]] == []


def test_init_still_refuses_a_folder_holding_more_than_a_killed_init_left(
    tmp_path: Path,
) -> None:
    root = tmp_path / "lab"
    killed = nodepipe_process(tmp_path, "init", str(root), crash_at="init.project")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (root / "notes.txt").write_text("mine\n")

    again = nodepipe_process(tmp_path, "init", str(root))
    assert again.returncode != 0
    assert "not empty" in again.stderr and "notes.txt" in again.stderr
    assert (root / "notes.txt").read_text() == "mine\n"
    assert (root / ".nodepipe" / "store.sqlite").is_file()
