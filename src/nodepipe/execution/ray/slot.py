"""The warm slot actor (``NodeSlot``): a Ray worker process for one slot of ``--jobs``, where
nodes with the default resources run one at a time as method calls (no Ray lease per node).

- **Its node, and one offered.** The executor gives an idle slot a node (``run``), and may
  offer a busy slot the node that comes next (``run`` with ``after``: the node it runs). The
  slot prepares an offered node while its node runs (staging, the environment check, the
  record) and starts it the moment that node's process has ended, with no round trip to the
  driver; one node process at a time, in the order given.
- **Revocable until it starts.** ``revoke`` takes back a node that has not started: deciding
  to start a node and revoking it happen under one lock, and the answer says which came first.
  By the time a revocation is answered, the node has left nothing behind here
  (``NodeProcess.withdraw``: its staging folder, its log), so it can be staged elsewhere.
- **The launch fence.** Before a node's process is spawned, the slot creates the fence folder
  of that placement of the node (``fence``, in the node's ``logs/``). When the slot's worker
  dies before the driver heard the node started, the driver creates the same folder
  (``claim``): ``mkdir`` is atomic (on NFS too), so either the driver's came first and the node
  never ran and never will there (it may go to another slot), or the slot's did and the node
  may have run (it fails: Ray never re-runs a node). The driver removes the fence once it heard
  the node started.
- **Cancel.** ``cancel`` stops a node as the local executor does, running or waiting (Ray does
  not interrupt a running actor call); a cancelled node's whole process group has ended before
  its outcome is yielded. A node cancelled before it started ends as the local executor's does.
- **Stream.** ``run`` yields once the node's process is up (``NodeStartedOnWorker``), then its
  outcome; a node that ends within ``QUICK_SECONDS`` yields both in one ``NodeRanOnWorker``
  (its start reported that much later); a revoked node's call yields nothing.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray

from nodepipe.domain.errors import NodepipeError, StorageError
from nodepipe.domain.runs import TaskOutcome
from nodepipe.execution.process_groups import terminate_group
from nodepipe.execution.ray.worker import (
    WATCHDOG,
    NodeStartedOnWorker,
    inherited_variables,
    let_go,
    placement,
)
from nodepipe.execution.task import NodeProcess, NodeTask

SLOT_CALLS = 6
"""Calls a slot actor serves at once: its node, the one offered, a revocation, cancellations."""

REMEMBERED = 16
"""How many nodes over on a slot it remembers: a node offered after one waits for it to be
over, and a revocation of one over says it started."""


QUICK_SECONDS = 0.05
"""A node whose process ends this soon after its start is reported started with its outcome,
in one item of the call's stream instead of two (each costs Ray's object transfer); the store
still records when it really started (the outcome's ``started_at``)."""


@dataclass(frozen=True, slots=True)
class NodeRanOnWorker:
    """The only item of a quick node's stream (``QUICK_SECONDS``): its start and its outcome."""

    started: NodeStartedOnWorker
    outcome: TaskOutcome


def fence(task: NodeTask, placement_number: int) -> Path:
    """The folder whose creation commits a slot to launching ``task`` (its ``placement_number``-th
    placement on a slot)."""
    return task.folder.logs / f".{task.node_run_id}-{placement_number}.launching"


def claim(task: NodeTask, placement_number: int) -> bool:
    """For the driver, once the slot's worker died before the node was reported started: True
    if the node was never launched there (and now never will be), False if it may have been."""
    try:
        fence(task, placement_number).mkdir(parents=True)
    except OSError:  # FileExistsError: the slot took it; anything else: cannot tell
        return False
    return True


def drop_fence(task: NodeTask, placement_number: int) -> None:
    """The node was reported started: its fence has done its work."""
    with contextlib.suppress(OSError):
        fence(task, placement_number).rmdir()


@dataclass(eq=False)
class _SlotNode:
    """A node given to this slot, until its call is over."""

    process: NodeProcess
    placement_number: int
    committed: bool = False
    """This slot settles it: it started (or is starting), or its outcome is on its way."""
    revoked: bool = False
    over: threading.Event = field(default_factory=threading.Event)


class _NodeSlot:
    """A warm worker process for one slot of ``--jobs`` (see ``cluster.borrow_slot``)."""

    def __init__(self) -> None:
        self._state = threading.Condition()
        self._nodes: dict[str, _SlotNode] = {}
        self._early: dict[str, str] = {}
        """A cancel or a revocation that came before its node (a threaded actor keeps no
        call order): ``cancel`` or ``revoke`` by node run."""
        self._running: str | None = None
        """The node whose process runs (or is being launched)."""
        self._over: dict[str, None] = {}
        """The last ``REMEMBERED`` nodes whose process ended here, or that will never start."""
        self._placement = placement()

    @ray.method(num_returns="streaming")
    def run(
        self, task: NodeTask, after: str | None = None, placement_number: int = 0
    ) -> Iterator[NodeStartedOnWorker | NodeRanOnWorker | TaskOutcome]:
        """Run one node in this slot once the node ``after`` (if any) is over here: yields its
        start, then its outcome; nothing if it is revoked before it starts."""
        node = _SlotNode(NodeProcess(task, inherited_variables()), placement_number)
        node_run_id = task.node_run_id
        with self._state:
            early = self._early.pop(node_run_id, None)
            if early == "revoke":
                return
            self._nodes[node_run_id] = node
            if early == "cancel":
                node.process.request_cancel()
        try:
            yield from self._run(node, after)
        finally:
            with self._state:
                self._nodes.pop(node_run_id, None)
                self._end_turn(node_run_id)
            node.over.set()

    def _run(
        self, node: _SlotNode, after: str | None
    ) -> Iterator[NodeStartedOnWorker | NodeRanOnWorker | TaskOutcome]:
        process = node.process
        try:
            process.stage(preamble=self._placement)
            if not process.cancelled:
                process.ensure_environment()
            if not process.cancelled:
                process.record_environment()
        except NodepipeError as exc:
            if self._keep(node):
                yield process.fail(exc)
                return
        if not self._take_turn(node, after):
            if node.revoked:
                process.withdraw()
                return
            yield process.conclude(None)
            return
        yield from self._launch(node)

    def _launch(
        self, node: _SlotNode
    ) -> Iterator[NodeStartedOnWorker | NodeRanOnWorker | TaskOutcome]:
        """Launch the node whose turn it is, follow it, conclude it once the next may start."""
        process = node.process
        task = process.task
        node_run_id = task.node_run_id
        try:
            fence(task, node.placement_number).mkdir()
        except FileExistsError:  # the driver claimed it: this worker was taken for dead
            with self._state:
                self._end_turn(node_run_id)
            return
        except OSError as exc:
            with self._state:
                self._end_turn(node_run_id)
            yield process.fail(StorageError(f"cannot mark the node launched: {exc}"))
            return
        try:
            pid = process.launch(WATCHDOG.watch)
        except BaseException as exc:
            drop_fence(task, node.placement_number)  # it never ran
            with self._state:
                self._end_turn(node_run_id)  # the slot's next node must not wait for ever
            if not isinstance(exc, NodepipeError):
                raise
            yield process.fail(exc)
            return
        if pid is None:  # cancelled meanwhile
            drop_fence(task, node.placement_number)
            with self._state:
                self._end_turn(node_run_id)
            yield process.conclude(None)
            return
        code: int | None = None
        timed_out = False
        started = NodeStartedOnWorker(pid, socket.gethostname(), process.recorded)
        quick = QUICK_SECONDS if task.timeout is None else min(QUICK_SECONDS, task.timeout)
        told = False
        try:
            if not process.exited_within(quick):
                told = True
                yield started
            rest = None if task.timeout is None else task.timeout - quick
            timed_out = not process.reap_within(rest)
            if timed_out:
                terminate_group(pid)
            code = process.wait()
            if process.cancelled:  # the leader may die first: the rest of its group too
                terminate_group(pid)
        finally:  # an exception: the worker is going away, so the group goes (code None)
            signalled = code is not None and code < 0 and not timed_out and not process.cancelled
            let_go(pid, leave_nothing=code is None or signalled)
            with self._state:
                self._end_turn(node_run_id)  # the next node starts before this one concludes
        outcome = process.conclude(code, timed_out)
        yield outcome if told else NodeRanOnWorker(started, outcome)

    def _keep(self, node: _SlotNode) -> bool:
        """Whether this slot settles ``node`` (False: it was revoked, it goes elsewhere)."""
        with self._state:
            if node.revoked:
                return False
            node.committed = True
            return True

    def _take_turn(self, node: _SlotNode, after: str | None) -> bool:
        """Wait until no node process runs here and ``after`` is over, then take the turn;
        False if the node was cancelled or revoked first."""
        process = node.process
        with self._state:
            while not process.cancelled and not (
                self._running is None and (after is None or after in self._over)
            ):
                self._state.wait()
            if process.cancelled:
                return False
            node.committed = True
            self._running = process.task.node_run_id
            return True

    def _end_turn(self, node_run_id: str) -> None:
        """``node_run_id``'s process ended, or never will start (with ``_state`` held)."""
        if self._running == node_run_id:
            self._running = None
        self._over[node_run_id] = None
        while len(self._over) > REMEMBERED:
            del self._over[next(iter(self._over))]
        self._state.notify_all()

    def revoke(self, node_run_id: str) -> bool:
        """Take back a node given here if it has not started: True once nothing of it is left
        here, False if it started (or its outcome is on its way): it is this slot's."""
        with self._state:
            node = self._nodes.get(node_run_id)
            if node is None:
                if node_run_id in self._over:
                    return False
                self._early[node_run_id] = "revoke"  # its call has not come: it will do nothing
                return True
            if node.committed:
                return False
            node.revoked = True
            node.process.request_cancel()
            self._state.notify_all()
        node.over.wait()
        return True

    def cancel(self, node_run_id: str) -> None:
        """Stop that node as the local executor does (SIGTERM to its group, SIGKILL after the
        grace period; its staging discarded, ``data/`` untouched), or keep it from starting."""
        with self._state:
            node = self._nodes.get(node_run_id)
            if node is None:
                if node_run_id not in self._over:
                    self._early[node_run_id] = "cancel"
                return
            node.process.request_cancel()
            self._state.notify_all()
        threading.Thread(target=node.process.cancel, name="node-kill", daemon=True).start()


_SLOT_OPTIONS: dict[str, Any] = {
    "num_cpus": 1,  # held while the actor lives: the slot's share of the cluster
    "max_restarts": 0,
    "max_task_retries": 0,
    "max_concurrency": SLOT_CALLS,
}
NodeSlot: Any = ray.remote(**_SLOT_OPTIONS)(_NodeSlot)
"""The slot actor class (``NodeSlot.remote()`` starts one)."""
