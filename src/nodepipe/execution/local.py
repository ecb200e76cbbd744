"""The local executor: each node runs as a child process group, waited for by a thread."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from nodepipe.execution.executor import StartedCallback
from nodepipe.execution.task import NodeProcess, NodeTask, TaskOutcome


class LocalExecutor:
    """Runs up to ``jobs`` node processes at once on this machine."""

    name = "local"

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._pool: ThreadPoolExecutor | None = None
        self._running: dict[str, NodeProcess] = {}
        self._lock = threading.Lock()
        self._host = socket.gethostname()

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="node")

    def submit(self, task: NodeTask, on_started: StartedCallback) -> Future[TaskOutcome]:
        assert self._pool is not None, "start() the executor first"
        process = NodeProcess(task)
        with self._lock:
            self._running[task.node_run_id] = process

        def run() -> TaskOutcome:
            try:
                return process.run(lambda pid: on_started(task.node_run_id, pid, self._host))
            finally:
                with self._lock:
                    self._running.pop(task.node_run_id, None)

        return self._pool.submit(run)

    def cancel(self, node_run_id: str) -> None:
        with self._lock:
            process = self._running.get(node_run_id)
        if process is not None:
            threading.Thread(target=process.cancel, daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            running = list(self._running.values())
        for process in running:
            process.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
