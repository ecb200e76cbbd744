"""The Ray executor: the adapter that gives Ray the four verbs of ``Executor`` (driver side).

- **Warm slots.** On a connection that was open already (see ``cluster``), a node with the
  default resources (one CPU, no GPU, no memory asked) runs on one of at most ``jobs`` slot
  actors (``slot.NodeSlot``, lent by ``cluster.borrow_slot``): a method call each, no Ray
  lease per node. An idle slot takes the next waiting node; when every slot is busy, the next
  one is *offered* to a busy slot (at most one each, the slot busy the longest): its worker
  prepares it while its node runs and starts it the moment that node ends. An offered node is
  revoked (``NodeSlot.revoke``, answered atomically with its start) when another slot empties
  first, and goes there (waiting nodes keep their order: an offered node is older than any
  still here), or when a node of other resources waits for CPUs (no node is offered then, so
  slots drain); a slot left empty goes back to the connection. A slot actor that dies fails
  the node it ran, as a dead task's worker does, unless the node is known never to have been
  launched there (``slot.claim``): then it goes to another slot. Ray never re-runs a node on
  its own.
- **Resources.** Any other node runs as a Ray task asking for its ``[tool.nodepipe.resources]``
  (read on the driver at ``submit``): CPUs, GPUs and bytes of memory. Ray holds the task until a
  cluster node has them; meanwhile the node run stays ``queued``, and no idle slot keeps CPUs
  from it (``cluster.task_waiting``).
- **Concurrency.** Slots held plus tasks submitted never exceed ``jobs``; a slot runs one node
  process at a time. What does not fit (nor is offered) waits here, in the order it was handed
  over.
- **Started.** One driver thread per node (per placement, on slots) follows the stream of its
  call or task: its first item reports the node started, its last resolves the node's
  ``Future`` (one item does both for a node that ended at once on a slot).
- **Cancel.** A node on a slot: ``NodeSlot.cancel``; a task: ``ray.cancel(force=False)``. Either
  way the worker stops the node as the local executor does; a node still waiting here is
  settled at once.
- **No shared filesystem** (``storage`` given). Every node is a task: its follower thread first
  ships it (``execution.remote_task.ship``: code, lock and parents' outputs to the storage),
  then submits ``worker.run_remote_on_worker``; it appends the log chunks the worker streams to
  the node's log in the workspace, and lands a completed node's outputs (downloaded by digest,
  promoted as a local run's) before resolving its future. A worker that dies mid-task fails the
  node run with Ray's reason; nothing reaches ``data/``. No node is handed over ahead there.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import Collection
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ray
from ray.exceptions import RayActorError, TaskCancelledError

from nodepipe.domain.errors import NodepipeError
from nodepipe.domain.runs import RunOutcome, TaskOutcome
from nodepipe.execution.executor import PreparingCallback, StartedCallback
from nodepipe.execution.process_groups import KILL_GRACE_SECONDS
from nodepipe.execution.ray import cluster
from nodepipe.execution.ray.slot import NodeRanOnWorker, claim, drop_fence
from nodepipe.execution.ray.worker import (
    NodeStartedOnWorker,
    run_on_worker,
    run_remote_on_worker,
)
from nodepipe.execution.remote_task import (
    LogChunk,
    RemoteReports,
    append_log,
    land,
    land_reports,
    ship,
)
from nodepipe.execution.task import NodeProcess, NodeTask
from nodepipe.workspace.node_config import Resources, read_node_config
from nodepipe.workspace.storage import Storage

SLOT_PLACEMENTS = 3
"""How many slots a node may be given to: one whose worker died before the node was launched
there (``slot.claim``) goes to another, twice at most."""

NOT_STARTED = "cancelled before it started"


@dataclass(eq=False)
class _Slot:
    """A slot actor this executor holds, the node it runs and the one offered to it."""

    actor: Any
    runs: list[_Run] = field(default_factory=list)
    """Its node, then the node offered to it (at most one)."""
    since: float = field(default_factory=time.monotonic)
    """When its node was given to it: a node is offered to the slot busy the longest."""
    reserved: bool = False
    """Empty, and kept for a node being revoked from another slot."""


@dataclass(eq=False)
class _Run:
    """A node run handed over, until its future is resolved."""

    task: NodeTask
    resources: Resources
    future: Future[TaskOutcome]
    on_started: StartedCallback
    order: int
    """Its place in the order runs were handed over."""
    started: bool = False
    cancelled: bool = False
    slot: _Slot | None = None
    """Where it runs or is offered, if on a slot; None: waiting here, or a task."""
    stream: Any = None
    """Its call's or task's ObjectRefGenerator once sent."""
    waiting: bool = False
    """A task that has not started yet (``cluster.task_waiting``)."""
    placements: int = 0
    """How many times it was given to a slot."""
    revoking: threading.Event | None = None
    """While a revocation is on its way: set once it is answered."""


class RayExecutor:
    """Runs node tasks on the Ray cluster at ``address`` (None: a local one-machine Ray); with
    ``storage``, on workers that share no filesystem with the workspace."""

    name = "ray"

    def __init__(self, address: str | None, jobs: int, storage: Storage | None = None) -> None:
        self.address = address
        self.jobs = max(1, jobs)
        self.storage = storage
        self.prefetch = 0 if storage is not None else self.jobs
        """Nodes handed over ahead: offered to busy slots, or waiting here (none without a
        shared filesystem)."""
        self._connected = False
        self._warm = False
        """Whether nodes with the default resources run on slots: on a connection kept open."""
        self._lock = threading.RLock()  # futures are resolved with it held
        self._runs: dict[str, _Run] = {}
        self._pending: deque[_Run] = deque()
        self._slots: list[_Slot] = []
        self._tasks = 0
        """Runs sent as tasks and not over: with the slots held, never more than ``jobs``."""
        self._waiting = 0
        """Of those, the tasks not started yet."""
        self._handed_over = itertools.count()
        self._followers: dict[str, threading.Thread] = {}
        self._revokers: list[threading.Thread] = []

    def start(self) -> None:
        self._warm = cluster.acquire(self.address) and self.storage is None
        self._connected = True

    def submit(
        self,
        task: NodeTask,
        on_started: StartedCallback,
        on_preparing: PreparingCallback | None = None,
    ) -> Future[TaskOutcome]:
        """``on_preparing`` is not called: a worker's preparation shows in the node's log."""
        assert self._connected, "start() the executor first"
        future: Future[TaskOutcome] = Future()
        try:
            resources = read_node_config(task.folder.code / "pyproject.toml").resources
        except Exception as exc:
            future.set_result(_refused(task, exc))
            return future
        with self._lock:
            run = _Run(task, resources, future, on_started, next(self._handed_over))
            self._runs[task.node_run_id] = run
            self._pending.append(run)
            self._dispatch()
        return future

    def cancel(self, node_run_ids: Collection[str]) -> None:
        for node_run_id in node_run_ids:
            with self._lock:
                run = self._runs.get(node_run_id)
                if run is None or run.cancelled:
                    continue  # a second interrupt would only disturb the worker's clean-up
                run.cancelled = True
                if run in self._pending:
                    self._pending.remove(run)
                    self._settle(
                        run, TaskOutcome(node_run_id, RunOutcome.CANCELLED, None, NOT_STARTED)
                    )
                    continue
                slot, stream = run.slot, run.stream
            if slot is not None:
                slot.actor.cancel.remote(node_run_id)
            elif stream is not None:  # None: still being shipped, it will not be submitted
                ray.cancel(stream, force=False)

    def stop(self) -> None:
        """Cancel what still runs, wait until Ray reports it over, then disconnect."""
        with self._lock:
            running = list(self._runs)
        for node_run_id in running:
            with contextlib.suppress(Exception):  # best effort: disconnecting matters more
                self.cancel([node_run_id])
        with self._lock:
            followers = [*self._revokers, *self._followers.values()]
        for follower in followers:
            follower.join(timeout=KILL_GRACE_SECONDS + 30)
        with self._lock:
            slots, self._slots = self._slots, []
        if self._connected:
            for slot in slots:  # left only by followers that did not end in time
                cluster.give_back_slot(slot.actor)
            self._connected = False
            cluster.release()

    # Placing runs (with the lock held) ---------------------------------------------------------

    def _dispatch(self) -> None:
        """Send the waiting runs on their way, in order, while they fit in ``jobs`` or can be
        offered; then give back the slots left empty."""
        while True:
            while self._pending and self._place(self._pending[0]):
                self._pending.popleft()
            if not self._release_empty():
                return

    def _place(self, run: _Run) -> bool:
        """Send ``run`` to an empty slot, a new slot or as a task if ``jobs`` has room, else offer
        it to a busy slot; False if it must wait."""
        warm = self._warm and run.resources == Resources()
        empty = next((s for s in self._slots if not s.runs and not s.reserved), None)
        if warm and empty is not None and not self._tasks_wait():  # else it goes back: drain
            self._call(empty, run)
            return True
        if len(self._slots) + self._tasks < self.jobs:
            actor = cluster.borrow_slot() if warm else None
            if actor is None:
                self._send_task(run)
            else:
                slot = _Slot(actor)
                self._slots.append(slot)
                self._call(slot, run)
            return True
        if not warm or self._tasks_wait():
            return False
        busy = [slot for slot in self._slots if len(slot.runs) == 1]
        if not busy:
            return False
        slot = min(busy, key=lambda busy_slot: busy_slot.since)
        self._call(slot, run, after=slot.runs[0])
        return True

    def _release_empty(self) -> bool:
        """Give back the slots with no node (nor one coming); whether there were any."""
        empty = [slot for slot in self._slots if not slot.runs and not slot.reserved]
        for slot in empty:
            self._slots.remove(slot)
            cluster.give_back_slot(slot.actor)
        return bool(empty)

    def _tasks_wait(self) -> bool:
        """Whether a node of other resources waits for CPUs: slots must drain, not take more."""
        return self._waiting > 0 or cluster.tasks_waiting()

    def _call(self, slot: _Slot, run: _Run, after: _Run | None = None) -> None:
        """Give ``run`` to ``slot``: as its node, or offered after its node ``after``."""
        if not slot.runs:
            slot.since = time.monotonic()
        slot.runs.append(run)
        run.slot = slot
        run.placements += 1
        previous = None if after is None else after.task.node_run_id
        stream = slot.actor.run.remote(run.task, previous, run.placements)
        run.stream = stream
        self._follow_in_thread(run, self._follow_call, run, slot, stream)

    def _send_task(self, run: _Run) -> None:
        self._tasks += 1
        run.waiting = True
        self._waiting += 1
        cluster.task_waiting()
        self._take_back_offers()
        if self.storage is not None:
            self._follow_in_thread(run, self._ship_and_follow, run, self.storage)
            return
        try:
            run.stream = run_on_worker.options(**_options(run)).remote(run.task)
        except Exception as exc:  # e.g. a resource request Ray refuses (1.5 CPUs)
            self._over(run)
            self._settle(run, _refused(run.task, exc))
            return
        self._follow_in_thread(run, self._follow, run)

    def _follow_in_thread(self, run: _Run, target: Any, *args: Any) -> None:
        follower = threading.Thread(target=target, args=args, name=f"ray-{run.task.tag}")
        follower.daemon = True
        self._followers[run.task.node_run_id] = follower
        follower.start()

    def _over(self, run: _Run) -> None:
        """``run`` no longer holds a part of ``jobs`` (nor is offered): an emptied slot is given
        back by the next ``_dispatch``, unless something takes it first."""
        slot, run.slot = run.slot, None
        if slot is None:
            self._tasks -= 1
            self._started(run)
        elif run in slot.runs:
            if slot.runs.index(run) == 0 and len(slot.runs) > 1:
                slot.since = time.monotonic()  # the node offered to it is its node now
            slot.runs.remove(run)

    def _started(self, run: _Run) -> None:
        if run.waiting:
            run.waiting = False
            self._waiting -= 1
            cluster.task_started()

    def _settle(self, run: _Run, outcome: TaskOutcome | BaseException) -> None:
        self._runs.pop(run.task.node_run_id, None)
        self._followers.pop(run.task.node_run_id, None)
        if isinstance(outcome, BaseException):
            run.future.set_exception(outcome)
        else:
            run.future.set_result(outcome)

    # Revoking offered runs ---------------------------------------------------------------------

    def _offered(self) -> list[tuple[_Slot, _Run]]:
        """The runs offered to busy slots that may still be revoked, oldest first."""
        offered = [
            (slot, slot.runs[1])
            for slot in self._slots
            if len(slot.runs) == 2 and slot.runs[1].revoking is None and not slot.runs[1].started
        ]
        return sorted(offered, key=lambda pair: pair[1].order)

    def _take_back_offers(self) -> None:
        """A task waits for CPUs: every run offered to a busy slot comes back here."""
        for slot, run in self._offered():
            self._revoke(slot, run, None)

    def _revoke(self, slot: _Slot, run: _Run, to: _Slot | None) -> None:
        """Take ``run`` back from ``slot``, in a thread: it goes to the empty slot ``to`` (kept
        for it meanwhile), or back to the front of the queue."""
        run.revoking = threading.Event()
        if to is not None:
            to.reserved = True
        revoker = threading.Thread(
            target=self._revoked, args=(slot, run, to), name=f"ray-revoke-{run.task.tag}"
        )
        revoker.daemon = True
        self._revokers = [alive for alive in self._revokers if alive.is_alive()]
        self._revokers.append(revoker)
        revoker.start()

    def _revoked(self, slot: _Slot, run: _Run, to: _Slot | None) -> None:
        try:
            revoked = bool(ray.get(slot.actor.revoke.remote(run.task.node_run_id)))
        except Exception:  # its worker died: its follower settles it
            revoked = False
        with self._lock:
            answered, run.revoking = run.revoking, None
            if to is not None:
                to.reserved = False
            if revoked:
                self._over(run)
                run.stream = None
                if run.cancelled:
                    message = NOT_STARTED
                    self._settle(
                        run, TaskOutcome(run.task.node_run_id, RunOutcome.CANCELLED, None, message)
                    )
                elif to is not None and to in self._slots:
                    self._call(to, run)
                else:
                    self._pending.appendleft(run)
            self._dispatch()
        assert answered is not None
        answered.set()

    # Following runs (driver threads) -----------------------------------------------------------

    def _ship_and_follow(self, run: _Run, storage: Storage) -> None:
        """Ship the node to the storage, submit it, then follow it."""
        task = run.task
        try:
            remote = ship(task, storage)
        except (NodepipeError, OSError) as exc:
            message = f"cannot send the node to the storage: {exc}"
            self._end(run, TaskOutcome(task.node_run_id, RunOutcome.ERROR, None, message))
            return
        with self._lock:
            if run.cancelled:
                outcome = TaskOutcome(task.node_run_id, RunOutcome.CANCELLED, None, "killed")
                self._end(run, outcome)
                return
            try:
                run.stream = run_remote_on_worker.options(**_options(run)).remote(remote)
            except Exception as exc:
                self._end(run, _refused(task, exc))
                return
        self._follow(run, remote.task, storage, remote.relaunched)

    def _follow(
        self,
        run: _Run,
        task: NodeTask | None = None,
        storage: Storage | None = None,
        relaunched: bool = False,
    ) -> None:
        """Follow a task: report the node started, then resolve its future with the outcome;
        a shipped node's log is appended as it comes, its outputs landed at the end (with the
        fingerprint it was shipped with: ``relaunched``)."""
        task = task or run.task
        started_at = datetime.now(UTC)
        try:
            for ref in run.stream:
                item = ray.get(ref)
                if isinstance(item, NodeStartedOnWorker):
                    started_at = datetime.now(UTC)
                    with self._lock:
                        self._started(run)
                    run.on_started(task.node_run_id, item.pid, item.host, item.environment)
                    continue
                if isinstance(item, LogChunk):
                    append_log(task, item)
                    continue
                if isinstance(item, RemoteReports):
                    assert storage is not None
                    land_reports(task, storage, item)
                    continue
                self._end(run, item if storage is None else land(task, storage, item, relaunched))
                return
            raise RuntimeError("the Ray task ended without reporting how the node ended")
        except TaskCancelledError:  # Ray's word for a cancelled task: this module's to translate
            outcome = TaskOutcome(
                task.node_run_id, RunOutcome.CANCELLED, None, "killed", None, started_at
            )
            self._end(run, outcome)
        except BaseException as exc:  # e.g. a listener failed: the node must not run on alone
            with contextlib.suppress(Exception):
                ray.cancel(run.stream, force=False)
            self._end(run, exc)

    def _follow_call(self, run: _Run, slot: _Slot, stream: Any) -> None:
        """Follow a node given to a slot (``stream``: that call's); a call whose node was
        revoked ends with nothing, the node being given elsewhere meanwhile."""
        task = run.task
        outcome: TaskOutcome | BaseException
        try:
            for ref in stream:
                item = ray.get(ref)
                if isinstance(item, NodeRanOnWorker):
                    self._slot_started(run, item.started)
                    outcome = item.outcome
                    break
                if isinstance(item, NodeStartedOnWorker):
                    self._slot_started(run, item)
                    continue
                outcome = item
                break
            else:
                outcome = RuntimeError("the slot ended its call without saying how the node ended")
        except RayActorError as exc:  # the slot's worker died
            self._slot_died(run, slot, stream, exc)
            return
        except BaseException as exc:  # e.g. a listener failed: the node must not run on alone
            outcome = exc
        if not self._still_there(run, stream):
            return
        if isinstance(outcome, BaseException):
            with contextlib.suppress(Exception):
                slot.actor.cancel.remote(task.node_run_id)
        self._end(run, outcome)

    def _slot_started(self, run: _Run, started: NodeStartedOnWorker) -> None:
        run.started = True
        drop_fence(run.task, run.placements)
        run.on_started(run.task.node_run_id, started.pid, started.host, started.environment)

    def _still_there(self, run: _Run, stream: Any) -> bool:
        """Whether ``run`` is still the node of the call ``stream`` (once any revocation of it
        is answered): a revoked one is followed by its new call."""
        with self._lock:
            answered = run.revoking
        if answered is not None:
            answered.wait()
        with self._lock:
            return run.stream is stream

    def _slot_died(self, run: _Run, slot: _Slot, stream: Any, exc: RayActorError) -> None:
        """The slot's worker died: the node fails (cancelled, if it was), unless it is known
        never to have been launched there (``slot.claim``): then it goes to another slot."""
        if not self._still_there(run, stream):
            return
        task = run.task
        with self._lock:
            self._drop_slot(slot)
        if not run.started and claim(task, run.placements):
            with contextlib.suppress(OSError):
                NodeProcess(task).withdraw()  # what the dead slot staged of it
            with self._lock:
                if not run.cancelled and run.placements < SLOT_PLACEMENTS:
                    self._over(run)
                    run.stream = None
                    self._pending.appendleft(run)
                    self._dispatch()
                    return
            if run.cancelled:
                outcome = TaskOutcome(task.node_run_id, RunOutcome.CANCELLED, None, NOT_STARTED)
                self._end(run, outcome)
                return
        if run.cancelled and not run.started:
            outcome = TaskOutcome(task.node_run_id, RunOutcome.CANCELLED, None, "killed")
        else:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            message = f"the Ray worker running the node died: {reason}"
            outcome = TaskOutcome(task.node_run_id, RunOutcome.ERROR, None, message)
        self._end(run, outcome)

    def _drop_slot(self, slot: _Slot) -> None:
        """The slot's actor died: the slot is no more (its other node hears it too)."""
        if slot in self._slots:
            self._slots.remove(slot)
            with contextlib.suppress(Exception):
                ray.kill(slot.actor, no_restart=True)

    def _end(self, run: _Run, outcome: TaskOutcome | BaseException) -> None:
        """``run`` is over: its part of ``jobs`` goes to the next waiting run (a slot it leaves
        empty takes the oldest node offered to another slot first), then its future is
        resolved."""
        with self._lock:
            slot = run.slot
            self._over(run)
            if (
                slot is not None
                and not slot.runs
                and slot in self._slots
                and not self._tasks_wait()
                and (offered := self._offered())
            ):
                victim, oldest = offered[0]
                self._revoke(victim, oldest, slot)
            self._dispatch()
            self._settle(run, outcome)


def _refused(task: NodeTask, exc: Exception) -> TaskOutcome:
    """E.g. a resource request Ray refuses (1.5 CPUs)."""
    message = f"cannot submit the node to Ray: {exc}"
    return TaskOutcome(task.node_run_id, RunOutcome.ERROR, None, message)


def _options(run: _Run) -> dict[str, Any]:
    """Ray task options from the node's ``[tool.nodepipe.resources]``."""
    resources = run.resources
    options: dict[str, Any] = {
        "num_cpus": resources.cpus,
        "num_gpus": resources.gpus,
        "name": f"nodepipe:{run.task.tag}",
    }
    if resources.memory_bytes is not None:
        options["memory"] = resources.memory_bytes
    return options
