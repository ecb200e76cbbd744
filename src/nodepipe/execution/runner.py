"""The one scheduling loop, shared by every executor: event driven, with a concurrency limit.

The loop blocks on a queue; executor futures, cancellation requests and signals put events on
it. Nothing sleeps or polls for work; the wait wakes twice a second only so that a signal's
handler can run (``SIGNAL_CHECK_SECONDS``). When a node fails, the planned nodes below it are
skipped with that reason while independent branches go on. A cancelled node is skipped
("cancelled before it started", keeping its state) only when its executor's outcome says its
process never started (``TaskOutcome.never_started``), not when the run merely never heard of
its start: a node killed on a worker before its start reached the driver is recorded cancelled.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Final

from nodepipe.domain.environments import RunEnvironment
from nodepipe.domain.events import (
    Listener,
    NodeFinished,
    NodePreparing,
    NodeSkipped,
    NodeStarted,
    NodeSubmitted,
    RunEvent,
    RunFinished,
    RunStarted,
)
from nodepipe.domain.runs import (
    CANCELLED_BEFORE_IT_STARTED,
    NodeRunState,
    RunOutcome,
    RunStatus,
    TaskOutcome,
)
from nodepipe.execution.executor import Executor
from nodepipe.execution.plan import Plan
from nodepipe.execution.ready_queue import ReadyQueue
from nodepipe.execution.task import NodeTask


class PreparedTask:
    """A node's task, built when its parents are done, and the fingerprint it runs with (a
    plain class, as ``_Progress``)."""

    __slots__ = ("fingerprint", "task")

    def __init__(self, task: NodeTask, fingerprint: str) -> None:
        self.task: Final = task
        self.fingerprint: Final = fingerprint


SIGNAL_CHECK_SECONDS = 0.5
"""How often the loop, waiting for its next event, lets a signal's handler run. A signal sent
to the process (Ctrl-C, SIGTERM, ``nodepipe kill``'s SIGUSR1) goes to whichever of its threads
the kernel picks: another thread when the main one has a signal pending already (as right after
Ctrl-Z and fg). Python then runs the handler in the main thread only once that thread runs
Python again, and a wait on a lock is not woken by a signal another thread took."""

Prepare = Callable[[str, dict[str, str]], PreparedTask]
"""(node id, output digests produced so far in this run by node id) -> the task to submit."""


class _Progress:
    """Where a run stands: which nodes are ready, running, settled, and how each ended.

    A plain class: nothing compares or prints it, and a dataclass costs a run's start about
    0.6 ms to make (its generated methods are compiled when the module is imported)."""

    __slots__ = (
        "cancelled",
        "cancelled_unstarted",
        "done",
        "failed",
        "outputs",
        "ready",
        "running",
        "settled",
        "skipped",
    )

    def __init__(self, ready: ReadyQueue) -> None:
        self.ready = ready
        self.done: set[str] = set()
        self.failed: set[str] = set()
        self.cancelled: set[str] = set()
        self.cancelled_unstarted: set[str] = set()  # a kill reached them before they started
        self.skipped: set[str] = set()
        self.running: dict[str, str] = {}  # handed to the executor: node run id
        self.outputs: dict[str, str] = {}
        self.settled: set[str] = set()  # handed to the executor, or skipped


class _Finished:
    """A node's task ended with ``outcome`` (posted by the executor)."""

    __slots__ = ("node_id", "outcome")

    def __init__(self, node_id: str, outcome: TaskOutcome) -> None:
        self.node_id: Final = node_id
        self.outcome: Final = outcome


class _Cancel:
    """Cancel these nodes' tasks (posted by a signal or ``nodepipe kill``)."""

    __slots__ = ("node_ids",)

    def __init__(self, node_ids: frozenset[str] | None) -> None:
        self.node_ids: Final = node_ids  # None: the whole run


class Runner:
    """Runs one plan of pipeline ``pipeline_id`` to the end with an executor, telling
    ``listeners`` what happens."""

    def __init__(
        self,
        executor: Executor,
        prepare: Prepare,
        node_run_ids: dict[str, str],
        listeners: Sequence[Listener],
        jobs: int,
        pipeline_id: str,
        tags: dict[str, str] | None = None,
    ) -> None:
        self.pipeline_id = pipeline_id
        self.tags = tags or {}
        self.executor = executor
        self.prepare = prepare
        self.node_run_ids = node_run_ids
        self.listeners = list(listeners)
        self.jobs = max(1, jobs)
        # SimpleQueue: cheaper than Queue, and safe to put on from a signal handler
        self._events: queue.SimpleQueue[_Finished | _Cancel] = queue.SimpleQueue()
        self._cancelling = False
        self._lock = threading.Lock()

    def cancel(self, node_ids: Sequence[str] | None = None) -> None:
        """Thread- and signal-safe: cancel some nodes, or the whole run with None."""
        self._events.put(_Cancel(None if node_ids is None else frozenset(node_ids)))

    def _next_event(self) -> _Finished | _Cancel:
        """Wait for the next event, waking every ``SIGNAL_CHECK_SECONDS`` so that a signal
        another thread of this process took has its handler run (``SIGNAL_CHECK_SECONDS``)."""
        while True:
            with contextlib.suppress(queue.Empty):
                return self._events.get(timeout=SIGNAL_CHECK_SECONDS)

    def run(self, run_id: str, plan: Plan) -> RunFinished:
        progress = _Progress(ReadyQueue(plan))
        self._emit(RunStarted(run_id, self.pipeline_id, plan.ids, self.tags))
        while True:
            if not self._cancelling:
                self._start_ready(run_id, progress)
            if not progress.running:
                break
            self._handle(run_id, plan, progress, self._next_event())
        for node_id in plan.ids:
            if node_id not in progress.settled:
                self._skip(run_id, progress, node_id, "the run was cancelled")
        finished = RunFinished(
            run_id,
            self.pipeline_id,
            _status(progress, self._cancelling),
            len(progress.done),
            len(progress.failed),
            len(progress.skipped),
            len(progress.cancelled),
        )
        self._emit(finished)
        return finished

    def _start_ready(self, run_id: str, progress: _Progress) -> None:
        in_flight = self.jobs + self.executor.prefetch
        while progress.ready and len(progress.running) < in_flight:
            node_id = progress.ready.pop()
            if node_id not in progress.settled:  # not skipped by a cancel meanwhile
                self._submit(run_id, node_id, progress)

    def _submit(self, run_id: str, node_id: str, progress: _Progress) -> None:
        node_run_id = self.node_run_ids[node_id]
        progress.settled.add(node_id)
        try:
            prepared = self.prepare(node_id, dict(progress.outputs))
        except Exception as exc:
            outcome = TaskOutcome(node_run_id, RunOutcome.ERROR, None, f"could not prepare: {exc}")
            self._events.put(_Finished(node_id, outcome))
            progress.running[node_id] = node_run_id
            return
        self._emit(
            NodeSubmitted(
                run_id, node_id, node_run_id, prepared.fingerprint, str(prepared.task.log_file)
            )
        )
        progress.running[node_id] = node_run_id

        def started(
            node_run: str, pid: int | None, host: str, environment: RunEnvironment | None
        ) -> None:
            self._emit(NodeStarted(run_id, node_id, node_run, pid, host, environment))

        def preparing(step: str, done: int, total: int, unit: str) -> None:
            self._emit(NodePreparing(run_id, node_id, node_run_id, step, done, total, unit))

        future = self.executor.submit(prepared.task, started, preparing)
        future.add_done_callback(
            lambda done: self._events.put(_finished(node_id, node_run_id, done))
        )

    def _handle(
        self, run_id: str, plan: Plan, progress: _Progress, event: _Finished | _Cancel
    ) -> None:
        if isinstance(event, _Cancel):
            self._cancel(run_id, plan, progress, event)
            return
        progress.running.pop(event.node_id, None)
        outcome = event.outcome
        ended = outcome.status.node_run_state
        if ended is NodeRunState.CANCELLED and outcome.never_started:
            progress.cancelled_unstarted.add(event.node_id)
            self._skip(run_id, progress, event.node_id, CANCELLED_BEFORE_IT_STARTED)
            self._skip_below(run_id, plan, progress, event.node_id, "was cancelled")
            return
        self._emit(NodeFinished.ended(run_id, event.node_id, outcome))
        if ended is NodeRunState.COMPLETED:
            progress.done.add(event.node_id)
            progress.ready.completed(event.node_id)
            if outcome.output_digest is not None:
                progress.outputs[event.node_id] = outcome.output_digest
            return
        cancelled = ended is NodeRunState.CANCELLED
        (progress.cancelled if cancelled else progress.failed).add(event.node_id)
        verb = "was cancelled" if cancelled else "failed"
        self._skip_below(run_id, plan, progress, event.node_id, verb)

    def _skip_below(
        self, run_id: str, plan: Plan, progress: _Progress, node_id: str, verb: str
    ) -> None:
        tag = self.tags.get(node_id, node_id)
        for below in plan.downstream(node_id):
            if below not in progress.settled:
                self._skip(run_id, progress, below, f"upstream {tag} {verb}")

    def _cancel(self, run_id: str, plan: Plan, progress: _Progress, event: _Cancel) -> None:
        targets = set(plan.ids) if event.node_ids is None else set(event.node_ids)
        if event.node_ids is None:
            self._cancelling = True
        self.executor.cancel(
            [node_run_id for node_id, node_run_id in progress.running.items() if node_id in targets]
        )
        for node_id in plan.ids:
            if node_id in targets and node_id not in progress.settled:
                progress.cancelled_unstarted.add(node_id)
                self._skip(run_id, progress, node_id, CANCELLED_BEFORE_IT_STARTED)
                self._skip_below(run_id, plan, progress, node_id, "was cancelled")

    def _skip(self, run_id: str, progress: _Progress, node_id: str, reason: str) -> None:
        progress.skipped.add(node_id)
        progress.settled.add(node_id)
        self._emit(NodeSkipped(run_id, node_id, self.node_run_ids[node_id], reason))

    def _emit(self, event: RunEvent) -> None:
        with self._lock:
            for listener in self.listeners:
                listener(event)


def _finished(node_id: str, node_run_id: str, future: Future[TaskOutcome]) -> _Finished:
    """The task's outcome; an executor that raised could not run the node (``ERROR``)."""
    error = future.exception()
    if error is None:
        return _Finished(node_id, future.result())
    message = f"{type(error).__name__}: {error}"
    return _Finished(node_id, TaskOutcome(node_run_id, RunOutcome.ERROR, None, message))


def _status(progress: _Progress, cancelled: bool) -> RunStatus:
    """A kill that reached any node makes the run cancelled, unless a node failed: also when
    every node it reached had not started yet (those are skipped, and keep their state)."""
    killed = progress.cancelled or progress.cancelled_unstarted
    if cancelled or (killed and not progress.failed):
        return RunStatus.CANCELLED
    return RunStatus.FAILED if progress.failed else RunStatus.COMPLETED
