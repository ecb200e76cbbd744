"""Runs started by other processes (a ``nodepipe run`` in a terminal) reach the event hub too.

Runs launched by this process tell the hub through their listeners. A run orchestrated
elsewhere can only be seen in the store, so a watcher thread looks once a second (one cheap
query while nothing runs) and publishes what changed as the same events: the run began,
each node's state, the run ended. The page itself never polls.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from nodepipe.domain.runs import NodeRun, NodeRunState
from nodepipe.domain.states import NodeState
from nodepipe.live.events import EventHub, NodeStateChanged, RunBegan, RunEnded
from nodepipe.services.context import WorkspaceContext

INTERVAL_SECONDS = 1.0

_STATE = {
    NodeRunState.QUEUED: NodeState.QUEUED,
    NodeRunState.RUNNING: NodeState.RUNNING,
    NodeRunState.COMPLETED: NodeState.COMPLETED,
    NodeRunState.FAILED: NodeState.FAILED,
    NodeRunState.CANCELLED: NodeState.CANCELLED,
}


@dataclass(slots=True)
class _Watched:
    pipeline_id: str
    states: dict[str, NodeRunState]
    """Node run id -> the state last published."""


class ExternalRunWatcher:
    """Publishes the progress of runs whose orchestrator is another process."""

    def __init__(
        self, context: WorkspaceContext, hub: EventHub, interval: float = INTERVAL_SECONDS
    ) -> None:
        self._context = context
        self._hub = hub
        self._interval = interval
        self._pid = os.getpid()
        self._runs: dict[str, _Watched] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nodepipe-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.check()
            except Exception:  # a busy or closed store: try again at the next tick
                continue

    def check(self) -> None:
        """Compare the store with what was published; publish the differences."""
        with self._context.store.read() as session:
            active_runs = {nr.run_id for nr in session.active_node_runs()}
            for run_id in active_runs - self._runs.keys():
                run = session.get_run(run_id)
                if run is not None and run.orchestrator_pid != self._pid and run.pipeline_id:
                    self._runs[run_id] = _Watched(run.pipeline_id, {})
            updates = {run_id: session.node_runs_of_run(run_id) for run_id in self._runs}
            ended = {
                run_id: session.get_run(run_id)
                for run_id in self._runs
                if run_id not in active_runs
            }
        for run_id, node_runs in updates.items():
            self._publish(run_id, node_runs)
        for run_id, run in ended.items():
            watched = self._runs.pop(run_id)
            counts = dict.fromkeys(("completed", "failed", "skipped", "cancelled"), 0)
            for state in watched.states.values():
                if state.value in counts:
                    counts[state.value] += 1
            status = run.status.value if run is not None else "completed"
            self._hub.publish(RunEnded(run_id, watched.pipeline_id, status, **counts))

    def _publish(self, run_id: str, node_runs: list[NodeRun]) -> None:
        watched = self._runs[run_id]
        if not watched.states:
            self._hub.publish(
                RunBegan(run_id, watched.pipeline_id, tuple(nr.node_id for nr in node_runs))
            )
        for node_run in node_runs:
            if watched.states.get(node_run.id) is node_run.state:
                continue
            watched.states[node_run.id] = node_run.state
            self._hub.publish(
                NodeStateChanged(
                    run_id,
                    node_run.node_id,
                    node_run.id,
                    _STATE.get(node_run.state),
                    node_run.message,
                    node_run.log_file,
                )
            )
