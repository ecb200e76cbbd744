"""Kill -9 while ``nodepipe connect`` / ``disconnect`` edit an edge: the edit is whole or absent.

On the embedded store an edge edit is one ``sqlite3`` write transaction (``store.light_edges``):
the edge, the memberships that keep its parent shown, and the staleness of the child and its
descendants. A real ``nodepipe`` process is killed at each crash point of that path
(``NODEPIPE_CRASH_AT``: after the edge is written, after the staleness is marked, just before
the commit); the next command (``nodepipe status``) must then find the edge as it was and every
node in the state it had, and the same command run again must do the whole edit.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import nodepipe
from faults.test_kill_anywhere import NODEPIPE, next_command, rows
from faults.test_kill_batch_create import without_nodepipe_variables
from nodepipe.services.runs.service import RunRequest
from nodepipe.store.store import Store


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pipeline ``base``: a → b → c and a lone d, all completed (so an edit makes them stale)."""
    root = tmp_path_factory.mktemp("template") / "lab"
    ws = nodepipe.init(root)
    ws.pipelines.new("base")
    ws.shared_envs.new("light")
    for tag in ("a", "b", "c", "d"):
        ws.nodes.new("base", tag, shared_env="light")
    ws.edges.connect("a", "b", "base")
    ws.edges.connect("b", "c", "base")
    ws.runs.run(RunRequest("base"))
    ws.close()
    return root


def states(root: Path) -> dict[str, str]:
    return {row.tag: row.state for row in rows(root)[0]}


def inputs(root: Path) -> list[tuple[str, str, str]]:
    """Every edge, as (parent tag, child tag, slot), read without any recovery."""
    tags = {row.id: row.tag for row in rows(root)[0]}
    store = Store.open(f"sqlite:///{root / '.nodepipe' / 'store.sqlite'}")
    try:
        with store.read() as session:
            found = session.all_edges()
    finally:
        store.close()
    return sorted((tags[e.parent_id], tags[e.child_id], e.slot) for e in found)


def edit(root: Path, command: list[str], point: str | None) -> subprocess.CompletedProcess[str]:
    env = without_nodepipe_variables()
    if point is not None:
        env["NODEPIPE_CRASH_AT"] = point
    return subprocess.run(
        [NODEPIPE, "-w", str(root), *command, "-p", "base"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("command", "point", "after"),
    [
        (
            ["connect", "d", "b"],
            "edges.inserted",
            [("a", "b", "01"), ("b", "c", "01"), ("d", "b", "02")],
        ),
        (
            ["connect", "d", "b"],
            "edges.marked",
            [("a", "b", "01"), ("b", "c", "01"), ("d", "b", "02")],
        ),
        (["disconnect", "a", "b"], "edges.deleted", [("b", "c", "01")]),
        (["disconnect", "a", "b"], "edges.marked", [("b", "c", "01")]),
    ],
)
def test_a_killed_edge_edit_is_whole_or_absent(
    template: Path,
    tmp_path: Path,
    command: list[str],
    point: str,
    after: list[tuple[str, str, str]],
) -> None:
    root = tmp_path / "lab"
    shutil.copytree(template, root, symlinks=True)
    before_states, before_inputs = states(root), inputs(root)
    assert set(before_states.values()) == {"completed"}

    killed = edit(root, command, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    next_command(root, {})
    assert inputs(root) == before_inputs, "a killed edit left part of itself"
    assert states(root) == before_states, "a killed edit marked nodes stale"

    done = edit(root, command, None)
    assert done.returncode == 0, done.stderr
    assert inputs(root) == after
    assert states(root) == {"a": "completed", "b": "stale", "c": "stale", "d": "completed"}
