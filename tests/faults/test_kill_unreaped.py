"""A ``nodepipe run`` killed but not yet reaped is dead: the next command settles its run.

A killed process stays in the process table as a zombie until its parent waits for it (a
notebook or a supervisor that started ``nodepipe run`` and has not looked yet; the fork server,
for a moment, after it killed the worker of a client that was killed). Its ``/proc`` entry
keeps its pid and start time, so the run's record of its orchestrator still matched it, the
next command took the run for a live one, and its nodes stayed ``running`` until whoever
started it reaped it. A zombie, or a process with SIGKILL pending, never runs again: the next
command settles its run as interrupted and kills the node processes it left.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import nodepipe
from faults.test_kill_anywhere import NODEPIPE, next_command, rows
from support.waiting import wait_for

SLOW = """\
import time
import nodepipe_node as node
(node.node_dir() / "reports" / "started").write_text(str(__import__("os").getpid()))
time.sleep(600)
"""


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _dead(pid: int) -> bool:
    try:
        return _state(pid) == "Z"
    except FileNotFoundError:
        return True


def test_a_killed_run_whose_process_is_not_yet_reaped_is_settled_by_the_next_command(
    tmp_path: Path,
) -> None:
    root = tmp_path / "lab"
    ws = nodepipe.init(root)
    ws.pipelines.new("base")
    ws.shared_envs.new("light")
    ws.nodes.new("base", "slow", shared_env="light")
    started = ws.nodes.path("slow") / "reports" / "started"
    (ws.nodes.path("slow") / "code" / "main.py").write_text(SLOW)
    ws.close()

    run = subprocess.Popen(
        [NODEPIPE, "-w", str(root), "run", "base"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(started.exists, "the node to start", 120)
        node_pid = int(wait_for(started.read_text, "the node to write its pid"))
        os.kill(run.pid, signal.SIGKILL)
        wait_for(lambda: _state(run.pid) == "Z", "the killed nodepipe to be a zombie")

        next_command(root, {})  # while its parent (this test) has not reaped it

        found, statuses, node_run_states = rows(root)
        assert statuses == ["interrupted"], "the killed run is taken for a live one"
        assert [row.state for row in found] == ["failed"]
        assert node_run_states == ["failed"]
        wait_for(lambda: _dead(node_pid), "the node process it left to be killed", 30)
    finally:
        run.kill()
        run.wait()
