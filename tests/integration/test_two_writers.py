"""Two nodepipe processes on one workspace at once, on SQLite and on PostgreSQL.

A run reads its pipeline, plans, then claims the planned nodes in one write transaction; another
command may change the graph in between. The run is held there (``NODEPIPE_PAUSE_AT``, pause
point ``run.planned``) while a second ``nodepipe`` process edits the graph, so the race happens
every time: the run must plan again from the graph as it is, never run from the old one.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from nodepipe.workspace.crash_points import PAUSE_ENV
from support.cli_process import NODEPIPE, nodepipe_process
from support.waiting import wait_for

PAUSE_S = 6.0
READS_INPUT = """\
import nodepipe_node as node
text = "".join((p.data_dir / "out.txt").read_text() for p in node.parents())
(node.data_dir() / "out.txt").write_text(text + node.tag() + ";")
"""


@pytest.fixture
def pair(tmp_path: Path, store_url: str | None) -> Iterator[Path]:
    """A workspace (on each store) whose pipeline ``pl`` holds nodes ``a``, ``b`` and ``x``,
    unconnected, on one shared environment; the workspace's folder."""
    ws = nodepipe.init(tmp_path / "lab", store_url)
    try:
        ws.shared_envs.new("light")
        ws.pipelines.new("pl")
        ws.nodes.new_many("pl", ["a", "b", "x"], shared_env="light")
        for tag in ("a", "b", "x"):
            (ws.nodes.path(tag) / "code" / "main.py").write_text(READS_INPUT)
    finally:
        ws.close()
    yield tmp_path / "lab"


def paused_run(root: Path, *argv: str) -> subprocess.Popen[str]:
    """``nodepipe run ARGV`` in its own process, held ``PAUSE_S`` between its plan and its claim."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env[PAUSE_ENV] = f"run.planned:{PAUSE_S}"
    return subprocess.Popen(
        [NODEPIPE, "-w", str(root), "run", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def planned(started: float) -> None:
    """Wait until the paused run has surely read its pipeline: a command's start and the
    status of three nodes take well under half the pause, even on a busy machine."""
    time.sleep(max(0.0, started + PAUSE_S / 2 - time.monotonic()))


def test_a_node_removed_while_a_run_plans_is_not_run_and_the_run_says_so(pair: Path) -> None:
    started = time.monotonic()
    run = paused_run(pair, "pl", "x")
    planned(started)
    removed = nodepipe_process(pair, "node", "rm", "x", "-p", "pl", "--yes")
    assert removed.returncode == 0, removed.stderr
    out, err = run.communicate(timeout=120)
    assert "Traceback" not in err
    assert run.returncode == 3, (out, err)  # not found, as if the run had started after the rm
    assert "no node 'x' in pipeline 'pl'" in err
    ws = nodepipe.open(pair)
    try:
        assert ws.runs.history() == []  # nothing was claimed
    finally:
        ws.close()


def test_an_edge_made_while_a_run_plans_feeds_the_child(pair: Path) -> None:
    started = time.monotonic()
    run = paused_run(pair, "pl", "a", "b")
    planned(started)
    connected = nodepipe_process(pair, "connect", "a", "b", "-p", "pl")
    assert connected.returncode == 0, connected.stderr
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, (out, err)
    ws = nodepipe.open(pair)
    try:
        # b ran after a, with a's outputs as its input 01: not from the graph before the edge
        assert (ws.nodes.path("b") / "data" / "out.txt").read_text() == "a;b;"
        assert ws.nodes.get("b").state is nodepipe.NodeState.COMPLETED
    finally:
        ws.close()


def test_a_run_names_the_run_that_holds_the_nodes_it_leaves_out(pair: Path) -> None:
    flag = pair / "go"
    ws = nodepipe.open(pair)
    try:
        ws.edges.connect("a", "b", "pl")
        (ws.nodes.path("a") / "code" / "main.py").write_text(WAITS_FOR.format(flag=str(flag)))
    finally:
        ws.close()
    first = subprocess.Popen(
        [NODEPIPE, "-w", str(pair), "run", "pl", "a"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")},
    )
    try:
        run_id = wait_for(lambda: _running_run(pair, first), "node a to start")
        again = nodepipe_process(pair, "run", "pl", "a", "b")
        assert again.returncode == 0, again.stderr
        holder = rf"run {run_id} of 'pl' \({getpass.getuser()}, pid \d+ on [^)]+\)"
        said = _one_line(again.stdout)
        assert re.search(f"not run a: running in {holder}", said), said
        assert re.search(f"blocked b: parent 01 \\(a\\) is running in {holder}", said), said
    finally:
        flag.touch()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, (out, err)


WAITS_FOR = """\
import pathlib, time
deadline = time.monotonic() + 60
while not pathlib.Path({flag!r}).exists() and time.monotonic() < deadline:
    time.sleep(0.05)
"""


def _running_run(root: Path, process: subprocess.Popen[str]) -> str | None:
    """The id of the run whose node ``a`` is running, once it is (fails fast if ``process``
    ended before)."""
    assert process.poll() is None, process.communicate()
    shown = nodepipe_process(root, "status", "pl", "--json")
    if '"running"' not in shown.stdout:
        return None
    listed = nodepipe_process(root, "runs", "--json")
    return str(json.loads(listed.stdout)[0]["id"])


def _one_line(text: str) -> str:
    """The CLI's output with the lines its console wrapped joined again."""
    return " ".join(text.split())


def test_a_failed_env_edit_never_undoes_one_made_meanwhile(pair: Path, offline_index: Path) -> None:
    made = nodepipe_process(pair, "node", "new", "pl", "-t", "own")
    assert made.returncode == 0, made.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env[PAUSE_ENV] = f"edit.saved:{PAUSE_S}"  # the project's files saved, then held
    started = time.monotonic()
    failing = subprocess.Popen(
        [NODEPIPE, "-w", str(pair), "env", "add", "own", "otherpkg==9.9"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    planned(started)
    added = nodepipe_process(pair, "env", "add", "own", "toypkg==1.0")
    out, err = failing.communicate(timeout=120)
    assert failing.returncode == 2, (out, err)  # no such version
    assert added.returncode == 0, added.stderr
    shown = nodepipe_process(pair, "env", "show", "own", "--json")
    assert json.loads(shown.stdout)["locked"] == {"toypkg": "1.0"}  # as `env add` said


def test_a_second_workspace_on_a_store_that_holds_one_is_refused(
    pair: Path, store_url: str | None, tmp_path: Path
) -> None:
    """Another user with a folder of their own and the store's URL (a shared PostgreSQL server,
    or an SQLite file they can reach) makes no second workspace on it: it would show the
    first workspace's nodes without their folders, and its ``doctor --repair`` delete them."""
    url = store_url or f"sqlite:///{pair / '.nodepipe' / 'store.sqlite'}"
    second = tmp_path / "theirs"
    made = nodepipe_process(tmp_path, "init", str(second), "--db", url)
    assert made.returncode == 4, (made.stdout, made.stderr)  # a conflict
    assert "already holds the store of a workspace" in made.stderr
    assert not second.exists()  # nothing made
    ws = nodepipe.open(pair)
    try:
        assert sorted(node.tag for node in ws.nodes.list()) == ["a", "b", "x"]
    finally:
        ws.close()
