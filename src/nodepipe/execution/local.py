"""The local executor: node processes on this machine, each in its own process group.

``jobs`` slots bound how many node processes live at once. The runner hands over up to
``prefetch`` more node runs than that; each waits in its own thread, staged and ready, and
starts as soon as a slot frees, without a round trip through the scheduling loop.

While an executor runs, the interpreter switches threads every ``THREAD_SWITCH_SECONDS``
instead of every 5 ms: starting a process gives up and takes back the GIL several times, and
behind a busy thread (the scheduling loop, the store writer) each take-back would wait a whole
switch interval, which made a node launch ten times slower than a bare one.
"""

from __future__ import annotations

import socket
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from nodepipe.execution.executor import StartedCallback
from nodepipe.execution.slots import ProcessSlots
from nodepipe.execution.task import NodeProcess, NodeTask, TaskOutcome

THREAD_SWITCH_SECONDS = 0.0005


class _ThreadSwitching:
    """Shortens the interpreter's thread switch interval while any local executor runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved = sys.getswitchinterval()

    def acquire(self) -> None:
        with self._lock:
            if self._users == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved, THREAD_SWITCH_SECONDS))
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                sys.setswitchinterval(self._saved)


_SWITCHING = _ThreadSwitching()


class LocalExecutor:
    """Runs up to ``jobs`` node processes at once on this machine."""

    name = "local"

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self.prefetch = self.jobs
        self._pool: ThreadPoolExecutor | None = None
        self._slots = ProcessSlots(self.jobs)
        self._running: dict[str, NodeProcess] = {}
        self._lock = threading.Lock()
        self._host = socket.gethostname()

    def start(self) -> None:
        _SWITCHING.acquire()
        self._pool = ThreadPoolExecutor(
            max_workers=self.jobs + self.prefetch, thread_name_prefix="node"
        )

    def submit(self, task: NodeTask, on_started: StartedCallback) -> Future[TaskOutcome]:
        assert self._pool is not None, "start() the executor first"
        process = NodeProcess(task)
        with self._lock:
            self._running[task.node_run_id] = process

        def run() -> TaskOutcome:
            try:
                return process.run(
                    lambda pid: on_started(task.node_run_id, pid, self._host), self._slots
                )
            finally:
                with self._lock:
                    self._running.pop(task.node_run_id, None)

        return self._pool.submit(run)

    def cancel(self, node_run_id: str) -> None:
        with self._lock:
            process = self._running.get(node_run_id)
        if process is not None:
            process.request_cancel()  # now: a node waiting for a slot must not take a freed one
            threading.Thread(target=process.cancel, daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            running = list(self._running.values())
        for process in running:
            process.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
            _SWITCHING.release()
