"""The Ray worker's watchdog, without a cluster: a killed watchdog shell forgets no node.

A worker process keeps one detached shell that kills the process groups of its running nodes
when the worker dies (``execution.ray.worker._Watchdog``). If that shell is killed (the OOM
killer, a stray kill), the next node starts a new one: it must be told every group still
listed, not only the new node's, or the nodes already running would outlive their worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from nodepipe.execution.ray.worker import _Watchdog
from support.waiting import wait_for


def _node() -> subprocess.Popen[bytes]:
    """A node's process: a session and group of its own, as the launcher makes it."""
    return subprocess.Popen(["sleep", "300"], start_new_session=True)


def _shells_reading(pipe: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str((entry / "fd" / "0").readlink()) == pipe:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_killed_watchdog_shell_is_replaced_by_one_that_knows_every_running_node() -> None:
    watchdog = _Watchdog()
    first, second = _node(), _node()
    try:
        watchdog.watch(first.pid)
        assert watchdog._pipe is not None
        pipe = str(Path(f"/proc/self/fd/{watchdog._pipe.fileno()}").readlink())
        (shell,) = wait_for(lambda: _shells_reading(pipe), "the watchdog shell")
        os.kill(shell, signal.SIGKILL)
        wait_for(lambda: not _shells_reading(pipe), "the shell to die")
        watchdog.watch(second.pid)  # a new shell
        assert watchdog._pipe is not None
        new_pipe = str(Path(f"/proc/self/fd/{watchdog._pipe.fileno()}").readlink())
        wait_for(lambda: _shells_reading(new_pipe), "the new watchdog shell")
        watchdog._pipe.close()  # the worker is gone: end of file
        wait_for(lambda: first.poll() is not None, "the first node to be killed", 30)
        wait_for(lambda: second.poll() is not None, "the second node to be killed", 30)
    finally:
        for node in (first, second):
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()
