"""The Ray executor: the adapter that gives Ray the four verbs of ``Executor`` (driver side).

- **Warm slots.** On a connection that was open already (see ``cluster``), a node with the
  default resources (one CPU, no GPU, no memory asked) runs on one of at most ``jobs`` slot
  actors (``worker.NodeSlot``, lent by ``cluster.borrow_slot``): a method call each, no Ray
  lease per node. A slot runs one node at a time and is held only while it does: a node waits
  here, never long behind another slot's node, and goes to whichever slot frees first; a slot
  empty again goes back to the connection (so a task waiting for CPUs gets them as slots
  drain). A slot actor that dies fails the nodes it had, as a dead task's worker does, started
  or not (they may have been launched): Ray never re-runs a node on its own.
- **Offers.** So that short nodes do not each wait for a round trip to the driver, the next
  waiting node is offered to a slot whose node may still be quick (``_offer``): the slot takes
  it if its node ends within ``worker.QUICK_NODE_SECONDS``, else answers ``NodeNotTaken``
  having done nothing for it, and the node is first in line here again.
- **Resources.** Any other node runs as a Ray task asking for its ``[tool.nodepipe.resources]``
  (read on the driver at ``submit``): CPUs, GPUs and bytes of memory. Ray holds the task until a
  cluster node has them; meanwhile the node run stays ``queued``, and no idle slot keeps CPUs
  from it (``cluster.task_waiting``).
- **Concurrency.** Slots held plus tasks submitted never exceed ``jobs``; a slot runs one node
  process at a time. What does not fit waits here, in the order it was handed over.
- **Started.** One driver thread per node follows it: a task's stream, whose first item
  reports the node started and whose last resolves the node's ``Future``; or a slot's plain
  calls, ``run`` (the start, with the outcome for a quick node) then ``outcome``.
- **Cancel.** A node on a slot: ``NodeSlot.cancel``; a task: ``ray.cancel(force=False)``. Either
  way the worker stops the node as the local executor does; a node still waiting here is
  settled at once. Ray drops what a cancelled task streamed that was not read yet: its worker
  leaves word of its node's start and outcome (``last_word``), so a node killed before its
  start was heard here is recorded killed; only one that never started is "cancelled before it
  started" (``TaskOutcome.never_started``).
- **No shared filesystem** (``storage`` given). Every node is a task: its follower thread first
  ships it (``execution.remote_task.ship``: code, lock and parents' outputs to the storage),
  then submits ``worker.run_remote_on_worker``; it appends the log chunks the worker streams to
  the node's log in the workspace, and lands a completed node's outputs (downloaded by digest,
  promoted as a local run's) before resolving its future. A worker that dies mid-task fails the
  node run with Ray's reason; nothing reaches ``data/``. No node is handed over ahead there.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Collection
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ray
from ray.exceptions import (
    GetTimeoutError,
    NodeDiedError,
    OutOfMemoryError,
    RayActorError,
    TaskCancelledError,
    WorkerCrashedError,
)

from nodepipe.domain.errors import NodepipeError
from nodepipe.domain.runs import RunOutcome, TaskOutcome
from nodepipe.execution.executor import PreparingCallback, StartedCallback
from nodepipe.execution.process_groups import KILL_GRACE_SECONDS
from nodepipe.execution.ray import cluster, last_word, messages
from nodepipe.execution.ray.worker import (
    NodeNotTaken,
    NodeRanOnWorker,
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
    open_log,
    ship,
)
from nodepipe.execution.task import NodeTask
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.node_config import Resources, read_node_config
from nodepipe.workspace.storage import Storage

WORKER_DEATHS = (WorkerCrashedError, NodeDiedError, OutOfMemoryError)
"""Ray's errors for a task whose worker process died (killed, out of memory) or whose machine
left the cluster (its raylet stopped: ``ray stop`` mid-run): the node ran no further."""

WAITING_NOTICE_SECONDS = 2.0
"""How long a node may wait for Ray to start it before ``on_preparing`` hears that it waits:
for the CPUs (GPUs, memory) it asks for, held by other work, or for a worker to start."""


@dataclass(eq=False)
class _Slot:
    """A slot actor this executor holds, the node it runs and the one offered to it."""

    actor: Any
    runs: list[_Run] = field(default_factory=list)
    declined: bool = False
    """Whether it did not take a node offered: no other until it is empty again."""


@dataclass(eq=False)
class _Run:
    """A node run handed over, until its future is resolved."""

    task: NodeTask
    resources: Resources
    future: Future[TaskOutcome]
    on_started: StartedCallback
    on_preparing: PreparingCallback | None = None
    started: bool = False
    cancelled: bool = False
    slot: _Slot | None = None
    """Where it runs, if on a slot; None: waiting here, or a task."""
    stream: Any = None
    """Once sent: its task's ObjectRefGenerator, or its slot call's ObjectRef."""
    waiting: bool = False
    """A task that has not started yet (``cluster.task_waiting``)."""
    over: bool = False
    """No longer holds a part of ``jobs`` (``_over``, once only)."""


class RayExecutor:
    """Runs node tasks on the Ray cluster at ``address`` (None: a local one-machine Ray); with
    ``storage``, on workers that share no filesystem with the workspace."""

    name = "ray"

    def __init__(self, address: str | None, jobs: int, storage: Storage | None = None) -> None:
        self.address = address
        self.jobs = max(1, jobs)
        self.storage = storage
        self.prefetch = 0 if storage is not None else self.jobs
        """Nodes handed over ahead, waiting here for a slot (none without a shared filesystem)."""
        self._connected = False
        self._warm = False
        """Whether nodes with the default resources run on slots: on a connection kept open."""
        self._lock = threading.RLock()  # futures are resolved with it held
        self._runs: dict[str, _Run] = {}
        self._pending: deque[_Run] = deque()
        self._slots: list[_Slot] = []
        self._tasks = 0
        """Runs sent as tasks and not over: with the slots held, never more than ``jobs``."""
        self._followers: dict[str, threading.Thread] = {}

    def start(self) -> None:
        self._warm = cluster.acquire(self.address) and self.storage is None
        self._connected = True

    def submit(
        self,
        task: NodeTask,
        on_started: StartedCallback,
        on_preparing: PreparingCallback | None = None,
    ) -> Future[TaskOutcome]:
        """``on_preparing`` hears only that a node waits for Ray to start it
        (``WAITING_NOTICE_SECONDS``): a worker's preparation shows in the node's log."""
        assert self._connected, "start() the executor first"
        future: Future[TaskOutcome] = Future()
        try:
            resources = read_node_config(task.folder.code / "pyproject.toml").resources
        except Exception as exc:
            future.set_result(_refused(task, exc))
            return future
        with self._lock:
            run = _Run(task, resources, future, on_started, on_preparing)
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
                    self._settle(run, TaskOutcome.cancelled_before_it_started(run.task.node_run_id))
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
            followers = list(self._followers.values())
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
        """Send the waiting runs on their way, in order, while they fit in ``jobs`` or a busy
        slot may take them."""
        while self._pending and (self._place(self._pending[0]) or self._offer(self._pending[0])):
            self._pending.popleft()

    def _offer(self, run: _Run) -> bool:
        """Offer ``run`` (default resources) to a slot whose node may still be quick: not known
        to have started yet, no node offered there already, none declined. The slot takes it
        if its node ends within ``worker.QUICK_NODE_SECONDS``, else answers ``NodeNotTaken``
        and the run waits here again, first in line: a fan-out of short nodes never waits for
        the round trip to the driver between two nodes, and a node never waits long behind
        another."""
        if not self._warm or run.resources != Resources() or cluster.tasks_waiting():
            return False
        for slot in self._slots:
            if len(slot.runs) == 1 and not slot.declined and not slot.runs[0].started:
                self._call(slot, run, behind=slot.runs[0].task.node_run_id)
                return True
        return False

    def _place(self, run: _Run) -> bool:
        """Send ``run`` to a slot of its own (default resources, on a kept connection) or as a
        task if ``jobs`` has room; False if it must wait. A busy slot takes a node only as an
        offer (``_offer``), which it declines unless its node ends within 50 ms: a node queued
        behind a long node would wait for it while another slot frees."""
        if len(self._slots) + self._tasks >= self.jobs:
            return False
        actor = None
        if self._warm and run.resources == Resources():
            with contextlib.suppress(Exception):  # Ray refused a new actor: a task then
                actor = cluster.borrow_slot()
        if actor is None:
            self._send_task(run)
        else:
            slot = _Slot(actor)
            self._slots.append(slot)
            self._call(slot, run)
        return True

    def _call(self, slot: _Slot, run: _Run, behind: str | None = None) -> None:
        try:
            run.stream = slot.actor.run.remote(run.task, behind)
        except Exception as exc:  # e.g. the handle of a slot on a cluster since gone
            if not slot.runs:
                self._slots.remove(slot)
                with contextlib.suppress(Exception):
                    ray.kill(slot.actor, no_restart=True)
            self._settle(run, _refused(run.task, exc))
            return
        slot.runs.append(run)
        run.slot = slot
        self._follow_in_thread(run, self._follow_call, run, slot.actor)

    def _send_task(self, run: _Run) -> None:
        self._tasks += 1
        run.waiting = True
        cluster.task_waiting()
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
        """``run`` no longer holds a part of ``jobs``: its slot goes back once empty."""
        if run.over:  # ended twice (an error while it ended): counted once
            return
        run.over = True
        slot, run.slot = run.slot, None
        if slot is None:
            self._tasks -= 1
            self._started(run)
        else:
            slot.runs.remove(run)
            if not slot.runs and slot in self._slots:
                self._slots.remove(slot)
                cluster.give_back_slot(slot.actor)

    def _started(self, run: _Run) -> None:
        if run.waiting:
            run.waiting = False
            cluster.task_started()

    def _settle(self, run: _Run, outcome: TaskOutcome | BaseException) -> None:
        self._runs.pop(run.task.node_run_id, None)
        self._followers.pop(run.task.node_run_id, None)
        if isinstance(outcome, BaseException):
            run.future.set_exception(outcome)
        else:
            run.future.set_result(outcome)

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
        try:
            open_log(task)
        except OSError as exc:
            message = f"cannot make the node's log: {exc}"
            self._end(run, TaskOutcome(task.node_run_id, RunOutcome.ERROR, None, message))
            return
        with self._lock:
            if run.cancelled:
                self._end(run, TaskOutcome.cancelled_before_it_started(task.node_run_id))
                return
            try:
                run.stream = run_remote_on_worker.options(**_options(run)).remote(remote)
            except Exception as exc:
                self._end(run, _refused(task, exc))
                return
        crash_point("ray.shipped-submitted")
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
            ready, _ = ray.wait([run.stream], timeout=WAITING_NOTICE_SECONDS)
            if not ready:
                self._say_waiting(run)
            for ref in run.stream:
                item = ray.get(ref)
                if isinstance(item, NodeStartedOnWorker):
                    started_at = datetime.now(UTC)
                    self._task_started(run, item)
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
            self._end(run, self._cancelled_task(run, task, started_at))
        except WORKER_DEATHS as exc:  # so are its words for a worker gone (Ray never re-runs it)
            self._end(run, _worker_died(run, task, exc))
        except BaseException as exc:  # e.g. a listener failed: the node must not run on alone
            with contextlib.suppress(Exception):
                ray.cancel(run.stream, force=False)
            self._end(run, exc)

    def _task_started(self, run: _Run, started: NodeStartedOnWorker) -> None:
        """A task's node process is up: the run hears it (once)."""
        with self._lock:
            self._started(run)
            heard, run.started = run.started, True
        if not heard:
            run.on_started(run.task.node_run_id, started.pid, started.host, started.environment)

    def _cancelled_task(self, run: _Run, task: NodeTask, started_at: datetime) -> TaskOutcome:
        """How a task Ray reports cancelled ended, as its worker left word (``last_word``): a
        node killed once its process started is recorded killed, and its start heard now if
        Ray dropped it; only without a word (Ray cancelled the task before a worker ran it)
        or with a worker's word that it never launched did the node never start."""
        word = last_word.take(task.node_run_id)
        if word is not None and word.log_size:
            _append_unheard(task, word)
        if word is not None and word.started is not None:
            self._task_started(run, word.started)
        if word is not None and word.outcome is not None:
            return word.outcome
        if run.started:
            return TaskOutcome(
                task.node_run_id, RunOutcome.CANCELLED, None, "killed", None, started_at
            )
        return TaskOutcome.cancelled_before_it_started(task.node_run_id)

    def _follow_call(self, run: _Run, actor: Any) -> None:
        """Follow a node on a slot (``worker.NodeSlot``): its ``run`` call's answer, then, for a
        node still running, its ``outcome`` call's. If the slot's actor dies, the node run fails
        (is cancelled, if it was: recorded killed, not "cancelled before it started"): even
        before its start was reported, it may have been launched."""
        task = run.task
        kept = False  # whether the slot keeps the node's outcome until asked
        try:
            try:
                answer = ray.get(run.stream, timeout=WAITING_NOTICE_SECONDS)
            except GetTimeoutError:  # preparing it (a sync), or the actor waits for CPUs
                up, _ = ray.wait([actor.ready.remote()], timeout=0.5)
                if not up:
                    self._say_waiting(run)
                answer = ray.get(run.stream)
            if isinstance(answer, NodeNotTaken):
                self._place_again(run)
                return
            if isinstance(answer, NodeRanOnWorker):
                self._report_started(run, answer.started)
                answer = answer.outcome
            elif isinstance(answer, NodeStartedOnWorker):
                kept = True
                self._report_started(run, answer)
                answer = ray.get(actor.outcome.remote(task.node_run_id))
            self._end(run, answer)
        except RayActorError as exc:  # the slot's worker died
            with self._lock:
                self._drop_slot(run)
            self._end(run, _worker_died(run, task, exc))
        except BaseException as exc:  # e.g. a listener failed: the node must not run on alone
            with contextlib.suppress(Exception):
                actor.cancel.remote(task.node_run_id)
                if kept:  # asked, so that the slot lets it go (the node is over soon)
                    actor.outcome.remote(task.node_run_id)
            self._end(run, exc)

    @staticmethod
    def _say_waiting(run: _Run) -> None:
        """Tell ``on_preparing`` that Ray has not started the node yet (what it asks for)."""
        if run.on_preparing is not None:
            run.on_preparing(f"waiting for Ray to start it ({_asked(run.resources)})", 0, 0, "")

    def _place_again(self, run: _Run) -> None:
        """A slot did not take ``run``, offered to it: first in line again (or cancelled)."""
        with self._lock:
            slot, run.slot, run.stream = run.slot, None, None
            assert slot is not None
            slot.runs.remove(run)
            slot.declined = True
            if not slot.runs and slot in self._slots:  # its node ended meanwhile
                self._slots.remove(slot)
                cluster.give_back_slot(slot.actor)
            if run.cancelled:
                self._settle(run, TaskOutcome.cancelled_before_it_started(run.task.node_run_id))
            else:
                self._pending.appendleft(run)
            self._dispatch()

    @staticmethod
    def _report_started(run: _Run, started: NodeStartedOnWorker) -> None:
        run.started = True
        run.on_started(run.task.node_run_id, started.pid, started.host, started.environment)

    def _drop_slot(self, run: _Run) -> None:
        """The actor of ``run``'s slot died: the slot is no more."""
        if run.slot is not None and run.slot in self._slots:
            self._slots.remove(run.slot)
            with contextlib.suppress(Exception):
                ray.kill(run.slot.actor, no_restart=True)

    def _end(self, run: _Run, outcome: TaskOutcome | BaseException) -> None:
        """``run`` is over: its part of ``jobs`` goes to the next waiting run, then its future
        is resolved."""
        with self._lock:
            self._over(run)
            self._dispatch()
            self._settle(run, outcome)


def _append_unheard(task: NodeTask, word: last_word.LastWord) -> None:
    """Add to a shipped node's log in the workspace the end of its log on the worker that Ray
    dropped with the cancelled task's stream (its last lines, "killed on request")."""
    try:
        have = task.log_file.stat().st_size
    except OSError:
        have = 0
    missing = word.log_size - have
    if missing <= 0:
        return
    data = word.log_tail[-missing:]
    if missing > len(word.log_tail):
        lost = missing - len(word.log_tail)
        data = f"# nodepipe: ({lost} bytes of the log on the worker lost)\n".encode() + data
    with contextlib.suppress(OSError):
        append_log(task, LogChunk(data))


def _worker_died(run: _Run, task: NodeTask, exc: Exception) -> TaskOutcome:
    """The outcome of a node whose Ray worker died (a slot's actor, a task's worker, or its
    machine), with Ray's reason; its log, which the worker could not end, says it too. A node
    being killed is recorded killed: even before its start was heard, it may have started."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
    if run.cancelled and not run.started:
        status, message = (
            RunOutcome.CANCELLED,
            f"killed; the Ray worker it was given to died meanwhile: {reason}",
        )
    else:
        where = "running the node" if run.started else "the node was given to"
        status, message = RunOutcome.ERROR, f"the Ray worker {where} died: {reason}"
    kept = messages.messages_file()
    if kept is not None:  # Ray's own account of it went there, not on nodepipe's output
        message = f"{message} (Ray's messages: {kept})"
    if task.log_file.exists():  # none: never prepared there, and no log is made for it now
        with contextlib.suppress(OSError), task.log_file.open("a", encoding="utf-8") as log:
            log.write(f"# nodepipe: {message}\n")
    return TaskOutcome(task.node_run_id, status, None, message)


def _asked(resources: Resources) -> str:
    """What a node asks Ray for, as the node's log names Ray's reservation: "CPU=2, GPU=1"."""
    asked = [f"CPU={resources.cpus:g}"]
    if resources.gpus:
        asked.append(f"GPU={resources.gpus:g}")
    if resources.memory_bytes is not None:
        asked.append(f"memory={resources.memory_bytes}")
    return ", ".join(asked)


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
