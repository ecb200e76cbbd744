"""Runs started by other processes (a ``nodepipe run`` in a terminal) reach the event hub too.

Runs launched by this process tell the hub through their listeners. A run orchestrated
elsewhere can only be seen in the store, so a watcher thread looks once a second (two cheap
queries while nothing runs) and publishes what changed as the same events a run emits: it
started, a node started, finished or was skipped, it finished. Only what the store keeps can be
told: a timeout or an error reads back as a failure (see ``RunOutcome.recorded_as``). The page
itself never polls.

A run shorter than a second (a quick ``nodepipe run`` in a terminal, a gated node released right
after a page loaded) can start and end between two looks: no look finds it running. Each look
also reads the runs that ended since the watcher started (at most ``LOOKBACK_SECONDS`` ago) and
tells those it never told, whole: started, each node's outcome, finished. Without that, a page
that loaded while such a run went on would show its nodes running until it was reloaded.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nodepipe.domain.events import (
    NodeFinished,
    NodeSkipped,
    NodeStarted,
    RunEvent,
    RunFinished,
    RunStarted,
)
from nodepipe.domain.runs import NodeRun, NodeRunState, Run, RunOutcome, RunStatus, TaskOutcome
from nodepipe.execution.recovery import this_process
from nodepipe.live.events import EventHub
from nodepipe.services.context import WorkspaceContext
from nodepipe.store.queries import StoreSession

INTERVAL_SECONDS = 1.0
LOOKBACK_SECONDS = 60.0
"""How long after its recorded end a run never told is still told: longer than a look delayed by
a busy store, and than the clock of another host (PostgreSQL) running a little behind."""


@dataclass(slots=True)
class _Watched:
    pipeline_id: str
    states: dict[str, NodeRunState]
    """Node run id -> the state last published."""
    tags: dict[str, str]


class ExternalRunWatcher:
    """Publishes the progress of runs whose orchestrator is another process."""

    def __init__(
        self, context: WorkspaceContext, hub: EventHub, interval: float = INTERVAL_SECONDS
    ) -> None:
        self._context = context
        self._hub = hub
        self._interval = interval
        self._me = this_process()
        self._runs: dict[str, _Watched] = {}
        self._told: dict[str, float] = {}
        """Run id -> when (``time.monotonic()``) its end was published: not told again while it
        is among the runs that ended recently."""
        self._started = datetime.now(UTC)
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
        since = max(self._started, datetime.now(UTC) - timedelta(seconds=LOOKBACK_SECONDS))
        with self._context.store.read() as session:
            active_runs = {nr.run_id for nr in session.active_node_runs()}
            found = [session.get_run(run_id) for run_id in active_runs - self._runs.keys()]
            recent = session.runs_finished_since(since)
            found += [  # ended between two looks: never seen running
                over for over in recent if over.id not in self._runs and over.id not in self._told
            ]
            # the older first: a quick run and the next one on the same nodes, both new to
            # this look, are told in the order they happened
            for run in sorted((r for r in found if r is not None), key=lambda r: r.created_at):
                self._watch(session, run)
            updates = {run_id: session.node_runs_of_run(run_id) for run_id in self._runs}
            ended = {
                run_id: session.get_run(run_id)
                for run_id in self._runs
                if run_id not in active_runs
            }
        now = time.monotonic()
        recent_ids = {over.id for over in recent}
        self._told = {
            run_id: at
            for run_id, at in self._told.items()
            if run_id in recent_ids or now - at < LOOKBACK_SECONDS
        }
        for run_id, node_runs in updates.items():  # each run whole, its end right after it
            self._publish(run_id, node_runs)
            if run_id in ended:
                self._finish(run_id, ended[run_id], now)

    def _finish(self, run_id: str, run: Run | None, now: float) -> None:
        watched = self._runs.pop(run_id)
        self._told[run_id] = now
        counts = Counter(watched.states.values())
        self._hub.publish(
            RunFinished(
                run_id,
                watched.pipeline_id,
                run.status if run is not None else RunStatus.COMPLETED,
                counts[NodeRunState.COMPLETED],
                counts[NodeRunState.FAILED],
                counts[NodeRunState.SKIPPED],
                counts[NodeRunState.CANCELLED],
            )
        )

    def _watch(self, session: StoreSession, run: Run) -> None:
        """Follow ``run`` from now on, if another process orchestrates it (this one's runs
        tell the hub themselves: the same pid on another host, or before a reboot, is not)."""
        orchestrator = (run.orchestrator_pid, run.orchestrator_host, run.orchestrator_started)
        if orchestrator != self._me and run.pipeline_id:
            self._runs[run.id] = _Watched(run.pipeline_id, {}, _tags(session, run.id))

    def _publish(self, run_id: str, node_runs: list[NodeRun]) -> None:
        watched = self._runs[run_id]
        if not watched.states:
            node_ids = tuple(nr.node_id for nr in node_runs)
            self._hub.publish(RunStarted(run_id, watched.pipeline_id, node_ids, watched.tags))
        for node_run in node_runs:
            if watched.states.get(node_run.id) is node_run.state:
                continue
            watched.states[node_run.id] = node_run.state
            event = _event(run_id, node_run)
            if event is not None:
                self._hub.publish(event)


def _tags(session: StoreSession, run_id: str) -> dict[str, str]:
    node_ids = [nr.node_id for nr in session.node_runs_of_run(run_id)]
    return {node_id: node.tag for node_id, node in session.get_nodes(node_ids).items()}


def _event(run_id: str, node_run: NodeRun) -> RunEvent | None:
    """The event that brought ``node_run`` to its stored state (none for queued: the run's
    start says so)."""
    state, node_id = node_run.state, node_run.node_id
    if state is NodeRunState.QUEUED:
        return None
    if state is NodeRunState.RUNNING:
        return NodeStarted(run_id, node_id, node_run.id, node_run.pid, node_run.host)
    if state is NodeRunState.SKIPPED:
        return NodeSkipped(run_id, node_id, node_run.id, node_run.message)
    outcome = TaskOutcome(
        node_run.id,
        RunOutcome.recorded_as(state),
        node_run.exit_code,
        node_run.message,
        node_run.output_digest,
        node_run.started_at or node_run.created_at,  # never started (crash recovery failed it)
        node_run.finished_at or node_run.created_at,
    )
    return NodeFinished.ended(run_id, node_id, outcome)
