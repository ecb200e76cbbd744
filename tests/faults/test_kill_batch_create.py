"""Kill -9 while many nodes are made at once (``nodes.new_many``): all of them or none.

The batch writes every folder unflushed, flushes them with one call, records them, moves them
into nodes/, syncs their environments and commits all rows in one transaction. A real process
doing it is killed at each crash point of that path (``NODEPIPE_CRASH_AT``); the next command
(``nodepipe status``) must then find either every new node (rows and folders) or none, no
folder without a row, and nothing left in ``.nodepipe/staging``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import nodepipe
from faults.test_kill_anywhere import next_command, rows

TAGS = [f"m{i}" for i in range(6)]
POINTS = (
    "folders.recorded",
    "folders.moved",
    "folders.moved@4",
    "folders.synced",
    "folders.committed",
)
SCRIPT = f"""
import sys, nodepipe
with nodepipe.open(sys.argv[1]) as ws:
    ws.nodes.new_many("base", {TAGS!r}, shared_env="light")
"""


def without_nodepipe_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pipeline ``base`` with one node ``a``, and a shared environment ``light``."""
    root = tmp_path_factory.mktemp("template") / "lab"
    ws = nodepipe.init(root)
    ws.pipelines.new("base")
    ws.shared_envs.new("light")
    ws.nodes.new("base", "a", shared_env="light")
    ws.close()
    return root


@pytest.mark.parametrize("point", POINTS)
def test_a_killed_batch_leaves_every_node_or_none(
    template: Path, tmp_path: Path, point: str
) -> None:
    root = tmp_path / "lab"
    shutil.copytree(template, root, symlinks=True)
    killed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root)],
        env={**without_nodepipe_variables(), "NODEPIPE_CRASH_AT": point},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    next_command(root, {})
    found, _, _ = rows(root)
    made = sorted(row.tag for row in found if row.tag != "a")
    assert made in ([], TAGS), f"half a batch: {made}"
    assert made == (TAGS if point == "folders.committed" else [])
    folders = {path.name for path in (root / "nodes").iterdir()}
    assert folders == {row.id for row in found}, "node folders and rows differ"
    assert list((root / ".nodepipe" / "staging").iterdir()) == [], "journal leftovers"
    with nodepipe.open(root) as ws:
        assert sorted(node.tag for node in ws.nodes.list("base")) == sorted(["a", *made])
