"""The store listens to a run: node states, node-run rows and fingerprints follow its events.

Events are written by one writer thread, in batches: the events of up to ``BATCH_WINDOW``
seconds go in one transaction, each changed row written once, so the scheduling loop never
waits for the database and a busy run costs five commits a second, not several per node (on two
cores, fewer commits left the nodes themselves more CPU). Readers in other processes (another
terminal, the web app's watcher, which looks once a second) see progress at most a window late;
the app's own runs reach it through listeners at once. ``RunFinished`` ends the window at once
and is written before the run returns. So does the handing out of the run's last planned node:
what happened until then is written while the last nodes run, and the run's end, which the
command waits for, has only their events left to write (and only their outputs to flush).
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from nodepipe.domain.errors import NodepipeError
from nodepipe.domain.events import (
    NodeFinished,
    NodePreparing,
    NodeSkipped,
    NodeStarted,
    NodeSubmitted,
    RunEvent,
    RunFinished,
    RunStarted,
)
from nodepipe.domain.runs import NodeRunState, RunOutcome, RunStatus
from nodepipe.domain.states import NodeState
from nodepipe.store.changes import RunUpdates
from nodepipe.store.store import Store
from nodepipe.workspace.crash_points import crash_point

BATCH_WINDOW = 0.2
"""Seconds of run events written in one transaction."""


class RecordingError(Exception):
    """The store could not record a run's events (its cause says why)."""


class StoreRecorder:
    """Records a run's events in the store from a writer thread, in batches.

    ``before_commit`` gets the events of each batch before they are committed (the run service
    flushes the batch's output swaps there), ``after_commit`` once the store holds them (it
    finishes the promotions there: old outputs go only once the new ones are recorded).
    ``on_error`` is told at once when the store cannot be written (a full disk), so the run can
    stop instead of running nodes whose results cannot be kept.
    """

    def __init__(
        self,
        store: Store,
        previous_states: dict[str, tuple[NodeState, str]],
        before_commit: Callable[[list[RunEvent]], None] | None = None,
        after_commit: Callable[[list[RunEvent]], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.store = store
        self.previous_states = previous_states
        self._before_commit = before_commit
        self._after_commit = after_commit
        self._on_error = on_error
        self._fingerprints: dict[str, str] = {}
        self._pending: queue.SimpleQueue[tuple[RunEvent, datetime]] = queue.SimpleQueue()
        self._window_ends = threading.Event()
        """Set when the run finished, or when its last planned node was handed out."""
        self._unsettled: set[str] | None = None
        """The planned nodes not yet handed to the executor, skipped or ended (from
        ``RunStarted``)."""
        self._writer = threading.Thread(target=self._write_batches, name="recorder", daemon=True)
        self._writer.start()
        self._error: BaseException | None = None

    def __call__(self, event: RunEvent) -> None:
        if isinstance(event, NodePreparing):  # how far a preparation got: nothing to keep
            return
        self._pending.put((event, datetime.now(UTC)))
        if isinstance(event, RunStarted):
            self._unsettled = set(event.node_ids)
        elif isinstance(event, NodeSubmitted | NodeSkipped | NodeFinished) and self._unsettled:
            self._unsettled.discard(event.node_id)
            if not self._unsettled:  # no node left to hand out: write what is pending now
                self._window_ends.set()
        elif isinstance(event, RunFinished):
            self._window_ends.set()
            self._writer.join()
            if self._error is not None:
                raise RecordingError(str(self._error)) from self._error

    def _write_batches(self) -> None:
        """Each batch is committed, then handed to ``after_commit``; the run's end is committed
        last, on its own, so a run the store calls finished has nothing left to tidy."""
        finished = False
        while not finished:
            batch = self._next_batch()
            ending = [item for item in batch if isinstance(item[0], RunFinished)]
            body = [item for item in batch if not isinstance(item[0], RunFinished)]
            if body and self._commit(body):
                if self._after_commit is not None:
                    crash_point("record.committed")
                    try:
                        self._after_commit([event for event, _ in body])
                    except Exception as exc:
                        self._fail(exc)
                if not ending:  # while nodes run, not on the way to the run's end
                    self._copy_log()
            if ending:
                self._commit(ending)
                finished = True

    def _commit(self, batch: list[tuple[RunEvent, datetime]]) -> bool:
        if self._before_commit is not None:
            try:
                self._before_commit([event for event, _ in batch])
            except Exception as exc:
                self._fail(exc)
                return False
        updates = RunUpdates()
        for event, at in batch:
            self._record(updates, event, at)
        try:
            with self.store.run_write() as session:
                session.apply_run_updates(updates)
        except BaseException as exc:  # surfaced to the run when it finishes
            self._fail(exc)
            return False
        return True

    def _copy_log(self) -> None:
        """The store's log copied into its file (``Store.copy_log``); a copy that fails is left
        to the next one, or to the store's close: the batch itself is committed."""
        with contextlib.suppress(NodepipeError):
            self.store.copy_log()

    def _fail(self, error: BaseException) -> None:
        first = self._error is None
        if first:
            self._error = error
        if first and self._on_error is not None:
            self._on_error(error)

    def _next_batch(self) -> list[tuple[RunEvent, datetime]]:
        """The events of one window: from the next event until the window closes, the last
        planned node is handed out or the run finishes. Events arriving meanwhile do not wake
        the writer; only those two do (the first once: the next window is a whole one again,
        ended by the run's end)."""
        batch = [self._pending.get()]
        if not isinstance(batch[0][0], RunFinished):
            self._window_ends.wait(BATCH_WINDOW)
            self._window_ends.clear()  # a RunFinished behind it is taken below, or next
        while not isinstance(batch[-1][0], RunFinished):
            try:
                batch.append(self._pending.get_nowait())
            except queue.Empty:
                break
        return batch

    def _record(self, updates: RunUpdates, event: RunEvent, now: datetime) -> None:
        if isinstance(event, NodeSubmitted):
            self._fingerprints[event.node_id] = event.fingerprint
            updates.node_run(
                event.node_run_id, fingerprint=event.fingerprint, log_file=event.log_file
            )
        elif isinstance(event, NodeStarted):
            updates.node_run(
                event.node_run_id,
                state=NodeRunState.RUNNING,
                started_at=now,
                pid=event.pid,
                host=event.host,
            )
            _node_state(updates, event.node_id, NodeState.RUNNING, "")
            if event.environment is not None:  # in the transaction that says it started
                updates.environments[event.node_run_id] = event.environment
        elif isinstance(event, NodeFinished):
            self._finished(updates, event, now)
        elif isinstance(event, NodeSkipped):
            state, reason = self.previous_states.get(event.node_id, (NodeState.READY, ""))
            updates.node_run(
                event.node_run_id,
                state=NodeRunState.SKIPPED,
                message=event.reason,
                finished_at=now,
            )
            _node_state(updates, event.node_id, state, reason)
        elif isinstance(event, RunFinished):  # a run the store failed under did not succeed
            status = RunStatus.FAILED if self._error is not None else event.status
            updates.run(event.run_id, status=status, finished_at=now)

    def _finished(self, updates: RunUpdates, event: NodeFinished, now: datetime) -> None:
        outcome = event.outcome
        if outcome.status is RunOutcome.CANCELLED and self._error is not None:  # for the store
            message = f"stopped: the store could not record the run ({self._error})"
            outcome = dataclasses.replace(outcome, status=RunOutcome.ERROR, message=message)
        updates.node_run(
            event.node_run_id,
            state=outcome.status.node_run_state,
            exit_code=outcome.exit_code,
            message=outcome.message,
            output_digest=outcome.output_digest,
            started_at=outcome.started_at,
            finished_at=now,
        )
        _node_state(updates, event.node_id, outcome.status.node_state, outcome.reason)
        if outcome.fingerprint is not None:  # the node changed between planning and launch
            self._fingerprints[event.node_id] = outcome.fingerprint
            updates.node_run(event.node_run_id, fingerprint=outcome.fingerprint)
        if outcome.status is RunOutcome.COMPLETED:
            updates.node(
                event.node_id,
                fingerprint=self._fingerprints.get(event.node_id),
                output_digest=outcome.output_digest,
            )


def _node_state(updates: RunUpdates, node_id: str, state: NodeState, reason: str) -> None:
    updates.node(node_id, state=state, state_reason=reason)
