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


SIGNAL_TO_ANOTHER_THREAD = """
import signal, sys, threading, time
from pathlib import Path
import nodepipe
from nodepipe.services.runs.service import RunRequest
ws = nodepipe.open(sys.argv[1])
started, gate = Path(sys.argv[2]), Path(sys.argv[3])
def elsewhere():
    while not started.exists():
        time.sleep(0.01)
    signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # this thread takes the Ctrl-C
    time.sleep(30)
    gate.touch()  # not cancelled: the node ends by itself
threading.Thread(target=elsewhere, daemon=True).start()
result = ws.runs.run(RunRequest("p"))
print(result.finished.status)
"""
WAITS_FOR_ITS_GATE = """\
import os, pathlib, time
reports = pathlib.Path(os.environ["NODEPIPE_REPORTS_DIR"])
(reports / "started").write_text("y")
while not pathlib.Path("__GATE__").exists():
    time.sleep(0.05)
"""


def test_a_ctrl_c_another_thread_of_the_run_takes_still_cancels_it(tmp_path: Path) -> None:
    """A signal sent to a process goes to whichever of its threads the kernel picks (another
    than the main one when that one has a signal pending, as right after Ctrl-Z and fg); the
    run's handler runs only in the main thread, which waits for its next event: the run must
    be cancelled all the same, not wait for its node to end by itself."""
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("p")
    ws.nodes.new("p", "waits")
    gate = tmp_path / "gate"
    folder = ws.nodes.path("waits")
    (folder / "code" / "main.py").write_text(WAITS_FOR_ITS_GATE.replace("__GATE__", str(gate)))
    ws.close()
    started = folder / "reports" / "started"
    run = subprocess.run(
        [sys.executable, "-c", SIGNAL_TO_ANOTHER_THREAD, str(ws.root), str(started), str(gate)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.stdout.strip() == "cancelled", run.stdout + run.stderr
    assert not gate.exists(), "the run waited for its node to end by itself"
