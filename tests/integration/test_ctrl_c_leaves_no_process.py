"""Ctrl-C of a run leaves no process of its nodes behind (DESIGN §4.3), even a child that
ignores SIGTERM: the node's group gets SIGKILL after the grace period, and ``nodepipe run``
ends only once its nodes' processes have."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import nodepipe
from nodepipe.cli.fork_client import SWITCH_ENV
from support.waiting import wait_for

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")
STUBBORN_CHILD = """\
import os, pathlib, subprocess, time
reports = pathlib.Path(os.environ["NODEPIPE_REPORTS_DIR"])
child = subprocess.Popen(["bash", "-c", "trap '' TERM; while true; do sleep 1; done"])
(reports / "child").write_text(str(child.pid))
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_ctrl_c_ends_a_nodes_child_that_ignores_sigterm(tmp_path: Path) -> None:
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("p")
    ws.nodes.new("p", "stubborn")
    (ws.nodes.path("stubborn") / "code" / "main.py").write_text(STUBBORN_CHILD)
    marker = ws.nodes.path("stubborn") / "reports" / "child"
    # the command in this process's child, as a terminal's Ctrl-C reaches it
    env = {**os.environ, SWITCH_ENV: "0"}
    run = subprocess.Popen(
        [NODEPIPE, "-w", str(ws.root), "run", "p"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    child = 0
    try:
        wait_for(lambda: marker.exists() and marker.read_text() != "", "the node's child", 120)
        child = int(marker.read_text())
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=120)
        assert run.returncode == 130, err
        assert not alive(child), "the node's child outlived `nodepipe run`"
    finally:
        run.kill()
        if child and alive(child):
            os.kill(child, signal.SIGKILL)
