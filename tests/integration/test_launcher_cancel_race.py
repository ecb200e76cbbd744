"""The local executor's launcher hands back every run cancelled while it waits for a slot, even
when the cancels race its look at the queue (a run lost there never settles: the whole
``nodepipe run`` hangs).

Real processes; the node runs are stand-ins that only carry the cancel flag (the race is
between the runner's thread setting it and the launcher's thread reading it), and the
interpreter switches threads as often as it can, so the race is sampled thousands of times.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any, cast

import pytest

from nodepipe.execution.process_launcher import LaunchedRun, ProcessLauncher
from nodepipe.execution.task import NodeProcess
from support.waiting import wait_for


class _Run:
    """What the launcher asks of a node process: a cancel flag, a launch, a wait."""

    class task:  # noqa: N801 - as ``NodeProcess.task``
        timeout = None

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.cancelled = False
        self.pid: int | None = None
        self.popen: subprocess.Popen[bytes] | None = None

    def launch(self, _on_started: Any) -> int | None:
        if self.cancelled:
            return None
        self.popen = subprocess.Popen(["sleep", str(self.seconds)])
        self.pid = self.popen.pid
        return self.pid

    def wait(self) -> int:
        assert self.popen is not None
        return self.popen.wait()

    def request_cancel(self) -> None:
        self.cancelled = True


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_runs_cancelled_while_they_wait_are_all_handed_back(frequent_switches: None) -> None:
    for _ in range(60):  # a few seconds; without the fix, a run is lost in a trial of 15 or so
        _cancel_300_waiting_runs()


def _cancel_300_waiting_runs() -> None:
    ended: set[int] = set()
    launcher = ProcessLauncher(1, lambda run: ended.add(id(run)))
    launcher.start()
    holder = _Run(60)  # takes the one slot: the others wait in line
    launcher.post(LaunchedRun(cast(NodeProcess, holder), lambda pid: None, order=0))
    waiting = [
        LaunchedRun(cast(NodeProcess, _Run(0)), lambda pid: None, order=i + 1) for i in range(300)
    ]
    for run in waiting:
        launcher.post(run)
    wait_for(lambda: holder.pid is not None, "the first run to start")

    def cancel_all() -> None:  # as LocalExecutor.cancel: mark, then wake the launcher
        for run in waiting:
            cast(_Run, run.process).request_cancel()
            launcher.wake()

    canceller = threading.Thread(target=cancel_all)
    canceller.start()
    canceller.join()
    try:
        wait_for(lambda: all(id(run) in ended for run in waiting), "every cancel to settle", 10)
    finally:
        holder.request_cancel()
        assert holder.popen is not None
        holder.popen.kill()
    launcher.stop()
