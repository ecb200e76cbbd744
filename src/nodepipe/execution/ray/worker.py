"""What runs on a Ray worker: one node's ``NodeProcess``, its cancellation and its watchdog.

- **Slots.** ``NodeSlot`` is an actor holding one CPU for as long as it lives: a warm worker
  process for one slot of ``--jobs``, where nodes with the default resources run one at a time
  (method calls, no Ray lease per node). The executor gives a slot a node only while it is idle
  (a node queued behind a busy slot's would wait for it while another slot frees); the slot
  still takes its turn lock, so a second node given would wait for the first. It serves a few
  calls at once (a threaded actor): ``NodeSlot.cancel`` stops a node there, running or waiting
  (Ray does not interrupt a running actor call), and a cancelled node's whole process group has
  ended before its outcome is yielded.
- **Started.** The remote function is a streaming generator: it yields once when the node's
  process is up (its pid and the worker's host, so the store says where it runs and crash
  recovery can find it on the same host) and once more with the ``TaskOutcome``. A slot answers
  the same with plain calls: ``run`` gives the start (with the outcome, for a node that ended
  within ``QUICK_NODE_SECONDS``), ``outcome`` the outcome of a node still running then.
- **Cancel.** ``ray.cancel(force=False)`` raises ``KeyboardInterrupt`` in the worker's main
  thread through ``_thread.interrupt_main()``, which does not interrupt a blocking system call: a
  main thread blocked in ``waitpid`` would never see it and the node would run on. So the node
  runs in a helper thread while the main thread waits in short slices, and an interrupt makes it
  call ``NodeProcess.cancel()`` (SIGTERM to the node's process group, SIGKILL after the grace
  period; the staging folder is discarded, ``data/`` untouched). Ray reports the task cancelled
  only once that is done. ``force=True`` is never used: it kills the worker and would orphan the
  node's process group, which runs in its own session. ``interrupt_main`` does nothing where
  SIGINT has no Python handler, so a task first gives its worker one
  (``_let_cancellation_through``). Ray drops the items of a cancelled stream the driver has not
  read, so the task leaves its node's start and outcome in the cluster's key-value store for
  the driver (``last_word``): a node killed before the driver heard of its start is still
  recorded killed, not "cancelled before it started".
- **Orphans.** When the driver dies (nodepipe crashed, or was killed), Ray force-exits its workers
  from C++ without running any Python, and kills only their direct children. A watchdog shell per
  worker process (see ``_Watchdog``) then kills the rest of the process group of each node still
  running there, so no node process keeps writing after its orchestrator is gone; crash recovery
  marks the node run interrupted. The shell is in a session of its own (Ray kills a dead
  worker's process group), and a node process that a signal ended by itself (a worker going
  away kills its own children first) has the rest of its group killed before it is let go.
- **Per node, only the node.** A Ray worker process runs task after task: what does not depend
  on the node is set up once per process and kept (the watchdog, the thread a node runs in, the
  variables of the worker's environment a node inherits), so a node's task costs little more
  than the node itself.
- **No shared filesystem.** ``run_remote_on_worker`` takes a ``RemoteTask`` instead: the node
  is materialised in the worker's scratch folder first (``execution.remote_worker``), its log is
  streamed back in ``LogChunk`` items while it runs, and its outputs are uploaded to the storage
  before the outcome is yielded; the scratch folder goes when the task ends, however it ends.
- **No retries.** Ray never re-runs a node on its own (``max_retries=0``, a slot
  ``max_restarts=0``); nodepipe decides.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ray

from nodepipe.domain.environments import RunEnvironment
from nodepipe.domain.errors import NodepipeError
from nodepipe.domain.runs import RunOutcome, TaskOutcome
from nodepipe.execution.node_variables import node_variables
from nodepipe.execution.process_groups import KILL_GRACE_SECONDS, kill_group
from nodepipe.execution.ray import last_word
from nodepipe.execution.remote_task import LogChunk, RemoteReports, RemoteTask
from nodepipe.execution.remote_worker import WorkerRun
from nodepipe.execution.task import NodeProcess, NodeTask
from nodepipe.execution.warm_start import WarmStarts, warm_start_possible
from nodepipe.workspace.crash_points import pause_point

WAIT_SLICE_SECONDS = 0.1
"""How often a worker's main thread, waiting for its node, lets a cancellation through."""


@dataclass(frozen=True, slots=True)
class NodeStartedOnWorker:
    """The first item of a node's stream: its process is up, with what it started with."""

    pid: int
    host: str
    environment: RunEnvironment | None


@ray.remote(max_retries=0, num_returns="streaming")
def run_on_worker(task: NodeTask) -> Iterator[NodeStartedOnWorker | LogChunk | TaskOutcome]:
    """Run one node on this worker; yields its start, then its outcome."""
    _let_cancellation_through()
    node = _NodeOnWorker(task)
    try:
        _log_placement(task)
        pause_point("ray.placed")
        node.start()
        while True:
            item = node.next_event()
            yield item
            if isinstance(item, TaskOutcome):
                return
    except KeyboardInterrupt:  # ray.cancel(): stop the node as the local executor does
        node.stop(graceful=True)
        last_word.leave(task.node_run_id, node.final_word())  # Ray drops what the stream says
        raise
    except BaseException:  # the worker is going away (SystemExit), or Ray dropped the stream
        node.stop(graceful=False)
        raise


@ray.remote(max_retries=0, num_returns="streaming")
def run_remote_on_worker(
    remote: RemoteTask,
) -> Iterator[NodeStartedOnWorker | LogChunk | RemoteReports | TaskOutcome]:
    """Run one shipped node on this worker: its start, its log as it grows, its outcome (its
    outputs uploaded by then)."""
    _let_cancellation_through()
    try:
        run = WorkerRun(remote)
    except (NodepipeError, OSError) as exc:  # a scratch folder that is not ours, a bad URL
        message = f"the worker could not prepare the node: {exc}"
        yield TaskOutcome(remote.task.node_run_id, RunOutcome.ERROR, None, message)
        return
    try:
        try:
            task = run.prepare()
        except (NodepipeError, OSError) as exc:  # a damaged or missing content, a full disk
            message = f"the worker could not prepare the node: {exc}"
            yield TaskOutcome(remote.task.node_run_id, RunOutcome.ERROR, None, message)
            return
        _log_placement(task)
        node = _NodeOnWorker(task)
        node.start()
        try:
            while True:
                item = node.next_event(lambda: run.read_log(task))
                if isinstance(item, TaskOutcome):
                    if (rest := run.read_log(task)) is not None:
                        yield rest
                    for last in run.finish(item):
                        if isinstance(last, TaskOutcome):
                            run.remove()  # before the driver has the outcome (see remove)
                        yield last
                    return
                yield item
        except KeyboardInterrupt:  # ray.cancel(): stop the node as the local executor does
            node.stop(graceful=True)
            word = node.final_word(task.log_file)  # Ray drops what it streams, the log's end too
            last_word.leave(task.node_run_id, word)
            raise
        except BaseException:
            node.stop(graceful=False)
            raise
    finally:
        run.remove()


def _let_cancellation_through() -> None:
    """Let ``ray.cancel`` interrupt this worker's main thread: SIGINT raises KeyboardInterrupt.

    Ray interrupts a running task with ``_thread.interrupt_main()``, which does nothing in a
    process where SIGINT has no Python handler, and a Ray worker inherits an ignored SIGINT
    from whoever started the cluster: a local Ray started by ``nodepipe run --executor ray &``
    in a script (whose shell starts background commands with SIGINT ignored), or a cluster
    started the same way. The node then ran to its end after a Ctrl-C, recorded cancelled.
    A worker runs only its own job's tasks, in process groups of their own: no terminal's
    Ctrl-C reaches it, only Ray's interruption.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # not where Ray runs a task: its interruption could not reach it anyway
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
        signal.signal(signal.SIGINT, signal.default_int_handler)


SLOT_CALLS = 4
"""Calls a slot actor serves at once: its node's ``run`` or ``outcome``, and cancellations."""


KEPT_CANCELLATIONS = 1024
"""Cancellations a slot keeps for nodes it has not seen: one comes before its node by a few
milliseconds at most, and those for nodes already over must not pile up in a long-lived slot."""

QUICK_NODE_SECONDS = 0.05
"""How long a slot's ``run`` waits for a node that ends quickly, to answer with its start and
its outcome at once (one round trip instead of two)."""


@dataclass(frozen=True, slots=True)
class NodeRanOnWorker:
    """A slot's answer for a node that ended within ``QUICK_NODE_SECONDS``: its start and its
    outcome together."""

    started: NodeStartedOnWorker
    outcome: TaskOutcome


@dataclass(frozen=True, slots=True)
class NodeNotTaken:
    """A slot's answer for a node offered while another ran there, which did not end within
    ``QUICK_NODE_SECONDS``: the offered node was not started, nor prepared; place it again."""


class _NodeSlot:
    """A warm worker process for one slot of ``--jobs`` (see ``cluster.borrow_slot``): it runs
    the nodes it is given one at a time. A node offered while another runs waits for its turn
    ``QUICK_NODE_SECONDS`` at most, before anything is done for it: if the one before has not
    ended by then, the answer is ``NodeNotTaken`` and the executor places the node again (it
    must not wait behind a long node while another slot frees). ``cancel`` reaches a node
    whether it runs or waits.

    Its calls are plain calls, not streams (a streaming call cost a node about 0.6 ms more on
    each side, measured by ``bench_ray``): ``run`` answers with the node's outcome if it never
    started, with ``NodeRanOnWorker`` if it ended within ``QUICK_NODE_SECONDS``, otherwise with
    its start, and then ``outcome`` waits for the end of that node.
    """

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._holder: str | None = None
        """The node run holding the turn (being prepared, or its process running): one node
        process at a time per slot."""
        self._last_holder: str | None = None
        """The node run that took the turn last: a node offered behind it waits for it."""
        self._lock = threading.Lock()
        self._processes: dict[str, NodeProcess] = {}
        self._cancelled: dict[str, None] = {}
        """Cancellations that came before their node (a threaded actor keeps no call order),
        or after it ended: the last ``KEPT_CANCELLATIONS``, oldest first."""
        self._endings: dict[str, Future[TaskOutcome]] = {}
        """The outcomes of nodes that ``run`` answered with their start, until ``outcome``."""
        self._placement = _placement()
        self._warm: WarmStarts | None = None
        self._warm_on = warm_start_possible()

    def _warm_starts(self, task: NodeTask) -> WarmStarts | None:
        """This slot's warm interpreters (``execution.warm_start``), kept while it lives."""
        if not (self._warm_on and task.warm_start and task.lock_cache_dir):
            return None
        with self._lock:
            if self._warm is None:
                self._warm = WarmStarts(Path(task.lock_cache_dir).parent, eager=True)
            return self._warm

    def run(
        self, task: NodeTask, behind: str | None = None
    ) -> NodeStartedOnWorker | NodeRanOnWorker | NodeNotTaken | TaskOutcome:
        """Run one node in this slot (see the class); ``behind``: the node run given to this
        slot before, for a node offered while that one is here, which this one waits for only
        ``QUICK_NODE_SECONDS`` (and never goes before: a threaded actor keeps no call order)."""
        process = NodeProcess(task, _inherited_variables(), warm=self._warm_starts(task))
        node_run_id = task.node_run_id
        with self._lock:
            self._processes[node_run_id] = process
            if node_run_id in self._cancelled:
                del self._cancelled[node_run_id]
                process.request_cancel()
        handed_on = False
        try:
            launched = self._launch(process, behind)
            if not isinstance(launched, tuple):
                return launched
            started, at = launched
            timeout = task.timeout
            quick = QUICK_NODE_SECONDS if timeout is None else min(QUICK_NODE_SECONDS, timeout)
            try:
                ended = process.exited_within(quick)
            except BaseException:
                self._abandon(process)
                raise
            if ended:
                return NodeRanOnWorker(started, self._finish(process, at))
            ending: Future[TaskOutcome] = Future()
            with self._lock:
                self._endings[node_run_id] = ending
            try:
                _HELPERS.run(functools.partial(self._finish_later, process, at, ending))
            except BaseException:
                with self._lock:
                    self._endings.pop(node_run_id, None)
                self._abandon(process)
                raise
            handed_on = True
            return started
        finally:
            if not handed_on:
                self._forget(node_run_id)

    def ready(self) -> None:
        """Answers as soon as the slot's actor runs (the executor asks when a node is slow to
        start: an actor Ray has not placed yet waits for CPUs)."""

    def outcome(self, node_run_id: str) -> TaskOutcome:
        """Wait for the outcome of the node that ``run`` answered with its start."""
        with self._lock:
            ending = self._endings.get(node_run_id)
        if ending is None:
            raise LookupError(f"no node run {node_run_id} waits for its outcome on this slot")
        try:
            return ending.result()
        finally:
            with self._lock:
                self._endings.pop(node_run_id, None)

    def _launch(
        self, process: NodeProcess, behind: str | None
    ) -> tuple[NodeStartedOnWorker, float] | NodeNotTaken | TaskOutcome:
        """Wait for the slot's turn (an offered node: ``QUICK_NODE_SECONDS`` at most), prepare
        the node, launch it: its start and when (monotonic seconds); ``NodeNotTaken``; or its
        outcome if it never started (cancelled, or nodepipe could not)."""
        task = process.task
        if not self._take_turn(process, behind):
            if process.cancelled:
                return TaskOutcome.cancelled_before_it_started(task.node_run_id)
            return NodeNotTaken()
        try:
            _log_placement(task, self._placement)
            process.stage()
            if not process.cancelled:
                process.ensure_environment()
                process.record_environment()
            pid = process.launch(_WATCHDOG.watch)
        except BaseException as exc:
            if process.pid is None:
                self._release_turn()  # the slot's next node must not wait for ever
            else:  # launched, then something failed (the watchdog): nothing may run on
                self._abandon(process)
            if not isinstance(exc, NodepipeError):
                raise
            return process.fail(exc)
        if pid is None:  # cancelled meanwhile
            self._release_turn()
            return process.conclude(None)
        at = time.monotonic()
        return NodeStartedOnWorker(pid, socket.gethostname(), process.recorded), at

    def _finish(self, process: NodeProcess, launched_at: float) -> TaskOutcome:
        """Wait for the launched node (within its timeout), end what it left, let the slot's
        next node start, then conclude it."""
        timeout = process.task.timeout
        assert process.pid is not None
        pid, code, timed_out = process.pid, None, False
        try:
            left = None if timeout is None else max(0.0, timeout - (time.monotonic() - launched_at))
            timed_out = not process.reap_within(left)
            if timed_out:
                process.end_group()
            code = process.wait()
            if process.cancelled:  # the leader may die first: the rest of its group too
                process.end_group()  # (or waits for the cancel's own ending of it)
        finally:  # an exception: the worker is going away, so the group goes (code None)
            signalled = code is not None and code < 0 and not timed_out and not process.cancelled
            if code is not None and not signalled:  # still watched: a worker dying now
                process.end_leftovers()  # leaves nothing of the node running
            _let_go(pid, leave_nothing=code is None or signalled, reaped=code is not None)
            self._release_turn()  # the next node of the slot starts before this one concludes
        return process.conclude(code, timed_out)

    def _finish_later(
        self, process: NodeProcess, launched_at: float, ending: Future[TaskOutcome]
    ) -> None:
        """``_finish`` in a helper thread, for ``outcome`` to hand over."""
        try:
            ending.set_result(self._finish(process, launched_at))
        except BaseException as exc:
            ending.set_exception(exc)
        finally:
            self._forget(process.task.node_run_id)

    def _abandon(self, process: NodeProcess) -> None:
        """nodepipe failed after launching the node (it cannot follow it): kill its whole group,
        reap it, stop watching the group, let the slot's next node start. The error goes on to
        the driver, which fails the node run; what it staged is dropped."""
        pid = process.pid
        assert pid is not None
        try:
            kill_group(pid, reaped=False)  # unreaped, the group id is still its own
            process.wait()
        finally:
            _let_go(pid, leave_nothing=True, reaped=True)
            self._release_turn()
            with contextlib.suppress(Exception):
                process.fail(RuntimeError("nodepipe could not follow the node on its Ray slot"))

    def _forget(self, node_run_id: str) -> None:
        with self._lock:
            self._processes.pop(node_run_id, None)

    def _take_turn(self, process: NodeProcess, behind: str | None) -> bool:
        """Wait until the slot's node before this one has ended: any (None) for as long as it
        takes, or ``behind`` (an offered node), once it has had its turn, within
        ``QUICK_NODE_SECONDS``. False if cancelled or not within."""
        deadline = None if behind is None else time.monotonic() + QUICK_NODE_SECONDS
        with self._turn:
            while self._holder is not None or (behind is not None and self._last_holder != behind):
                left = WAIT_SLICE_SECONDS if deadline is None else deadline - time.monotonic()
                if process.cancelled or left <= 0:
                    return False
                self._turn.wait(min(WAIT_SLICE_SECONDS, left))
            if process.cancelled:
                return False
            self._holder = self._last_holder = process.task.node_run_id
            return True

    def _release_turn(self) -> None:
        with self._turn:
            self._holder = None
            self._turn.notify_all()

    def cancel(self, node_run_id: str) -> None:
        """Stop that node as the local executor does (SIGTERM to its group, SIGKILL after the
        grace period; its staging discarded, ``data/`` untouched), or keep it from starting."""
        with self._lock:
            process = self._processes.get(node_run_id)
            if process is None:
                self._cancelled[node_run_id] = None
                if len(self._cancelled) > KEPT_CANCELLATIONS:
                    del self._cancelled[next(iter(self._cancelled))]
                return
        process.request_cancel()
        threading.Thread(target=process.cancel, name="node-kill", daemon=True).start()


_SLOT_OPTIONS: dict[str, Any] = {
    "num_cpus": 1,  # held while the actor lives: the slot's share of the cluster
    "max_restarts": 0,
    "max_task_retries": 0,
    "max_concurrency": SLOT_CALLS,
}
NodeSlot: Any = ray.remote(**_SLOT_OPTIONS)(_NodeSlot)
"""The slot actor class (``NodeSlot.remote()`` starts one)."""


class _NodeOnWorker:
    """A ``NodeProcess`` in a helper thread; the worker's main thread waits for its events."""

    def __init__(self, task: NodeTask) -> None:
        self.process = NodeProcess(task, _inherited_variables())
        self.events: queue.Queue[NodeStartedOnWorker | TaskOutcome | BaseException] = queue.Queue()
        self.group: int | None = None  # the node's process group, once it is up
        self.host = socket.gethostname()
        self.finished = threading.Event()
        """Set once the helper thread is done with the node (its outcome or error put)."""
        self.handed_over = False
        """Whether a helper thread has the node (``start``): only then is it ``finished``."""
        self.started: NodeStartedOnWorker | None = None
        """The node's start, once its process is up (put before it is yielded)."""
        self.outcome: TaskOutcome | None = None
        """How the node ended, once the helper thread knows (put before it is yielded)."""

    def start(self) -> None:
        _HELPERS.run(self._run)
        self.handed_over = True

    def _run(self) -> None:
        try:
            self.outcome = outcome = self.process.run(self._started, self._reaped)
        except BaseException as exc:  # raised again by the main thread, for the driver
            self.events.put(exc)
            return
        finally:
            if self.group is not None:  # not seen reaped: nothing of the node may run on
                _let_go(self.group, leave_nothing=True, reaped=False)
            self.finished.set()
        self.events.put(outcome)

    def _started(self, pid: int) -> None:
        self.group = pid
        _WATCHDOG.watch(pid)
        self.started = NodeStartedOnWorker(pid, self.host, self.process.recorded)
        self.events.put(self.started)

    def final_word(self, log: Path | None = None) -> last_word.LastWord:
        """What became of the node, for the driver of a cancelled task (``last_word``): its
        start even if it was never yielded (the cancellation came first) or never read; with
        ``log`` (a shipped node's, in the worker's scratch folder), its size and its end."""
        size, tail = 0, b""
        if log is not None:
            with contextlib.suppress(OSError), log.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - last_word.LOG_TAIL_BYTES))
                tail = handle.read()
        return last_word.LastWord(self.started, self.outcome, size, tail)

    def _reaped(self, code: int, timed_out: bool) -> None:
        """The node's process was reaped: end what it left running, then stop watching its
        group, before its outputs are digested. A worker dying while they are then leaves no
        group id listed that another process may hold by now (as on a slot, ``_finish``)."""
        group, self.group = self.group, None
        if group is None:
            return
        signalled = code < 0 and not timed_out and not self.process.cancelled
        if not signalled:
            self.process.end_leftovers()
        _let_go(group, leave_nothing=signalled, reaped=True)

    def next_event(
        self, idle: Callable[[], LogChunk | None] | None = None
    ) -> NodeStartedOnWorker | LogChunk | TaskOutcome:
        """Wait in slices: Ray's cancellation can only be raised between bytecodes. Between
        slices, ``idle`` may have something to hand out meanwhile (the log's new bytes)."""
        while True:
            with contextlib.suppress(queue.Empty):
                item = self.events.get(timeout=WAIT_SLICE_SECONDS)
                if isinstance(item, BaseException):
                    raise item
                return item
            if idle is not None and (chunk := idle()) is not None:
                return chunk

    def stop(self, graceful: bool) -> None:
        """Kill the node (SIGTERM then SIGKILL, or SIGKILL at once) and let its thread clean up.

        The kill runs in its own thread so that a repeated interrupt cannot cut it short. Not
        graceful, the wait is bounded: the worker is about to go. A node no helper thread has
        yet (interrupted before ``start``) will not start, and nothing is waited for.
        """
        if not graceful and self.group is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.group, signal.SIGKILL)
        killer = threading.Thread(target=self.process.cancel, name="node-kill", daemon=True)
        killer.start()
        deadline = None if graceful else time.monotonic() + KILL_GRACE_SECONDS
        while killer.is_alive() and (deadline is None or time.monotonic() < deadline):
            with contextlib.suppress(KeyboardInterrupt):
                killer.join(WAIT_SLICE_SECONDS)
        while (
            self.handed_over
            and not self.finished.is_set()
            and (deadline is None or time.monotonic() < deadline)
        ):
            with contextlib.suppress(KeyboardInterrupt):
                self.finished.wait(WAIT_SLICE_SECONDS)


class _HelperThreads:
    """The threads nodes run in, kept for the next node once one is done: a Ray worker process
    runs task after task, and starting a thread for each node cost it more than the rest of
    the task's own set-up. A node whose thread is still busy (a kill that outlived its bounded
    wait) gets a new one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[Callable[[], None]]] = []

    def run(self, work: Callable[[], None]) -> None:
        """Run ``work`` in an idle helper thread, or a new one."""
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), name="node", daemon=True).start()
        inbox.put(work)

    def _serve(self, inbox: queue.SimpleQueue[Callable[[], None]]) -> None:
        while True:
            work = inbox.get()
            with contextlib.suppress(BaseException):  # ``work`` reports its own errors
                work()
            with self._lock:
                self._idle.append(inbox)


_HELPERS = _HelperThreads()


@functools.lru_cache(maxsize=4)
def _node_variables_of(environment: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return node_variables(dict(environment))


def _inherited_variables() -> dict[str, str]:
    """The variables of this worker's environment a node inherits (``node_variables``),
    filtered once for as long as the environment stays the same (Ray may change it between
    tasks: the GPUs a task may see)."""
    return _node_variables_of(tuple(os.environ.items()))


_WATCHDOG_SCRIPT = """
exec 3<&0
(
  groups=" "
  while IFS= read -r line <&3; do
    case $line in
      +*) groups="$groups${line#+} " ;;
      -*) group=" ${line#-} "
          case $groups in *"$group"*) groups="${groups%%"$group"*} ${groups#*"$group"}" ;; esac ;;
    esac
  done
  for group in $groups; do kill -s KILL -- "-$group"; done
) >/dev/null 2>&1 &
"""


class _Watchdog:
    """SIGKILLs the process groups of the nodes still running when this worker process ends.

    When its driver dies (or its job ends), Ray force-exits a worker from C++: no Python code
    runs, and Ray kills only the worker's direct children, so the rest of a node's group (it
    runs in its own session) would live on. The watchdog is a detached shell, not a child of
    the worker, started at the first node of the worker process, that reads a pipe only the
    worker holds: ``+group`` when a node started, ``-group`` when it ended; at end of file (the
    worker is gone) it kills the groups still listed. One shell per worker process, not per
    node: starting one took a node's task about as long as the rest of its set-up.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pipe: IO[bytes] | None = None
        self._groups: set[int] = set()
        """The groups listed: a new shell (the last one was killed) is told all of them."""

    def watch(self, group: int) -> None:
        """Kill ``group`` if this worker process ends before ``release(group)``."""
        with self._lock:
            self._groups.add(group)
            try:
                self._say(f"+{group}")
            except OSError:  # the shell is gone (killed): a new one, told every group listed
                self._pipe = None
                self._say("\n".join(f"+{listed}" for listed in sorted(self._groups)))

    def release(self, group: int) -> None:
        """The node of ``group`` ended: nothing to kill for it any more."""
        with self._lock, contextlib.suppress(OSError):
            self._groups.discard(group)
            self._say(f"-{group}")

    def _say(self, line: str) -> None:
        if self._pipe is None:
            launcher = subprocess.Popen(
                ["sh", "-c", _WATCHDOG_SCRIPT, "nodepipe-watchdog"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ray kills a dead worker's process group: not this
            )
            launcher.wait()
            assert launcher.stdin is not None
            self._pipe = launcher.stdin
        self._pipe.write(f"{line}\n".encode())
        self._pipe.flush()


_WATCHDOG = _Watchdog()


def _let_go(group: int, leave_nothing: bool, reaped: bool) -> None:
    """Stop watching the group of a node whose process has ended; with ``leave_nothing``, kill
    what is left of the group first (``reaped``: its leader was reaped, see ``kill_group``).

    That is for a node not seen to end, or ended by a signal nodepipe did not send: a Ray
    worker going away kills its own children first (the node's process, not the rest of its
    group) and only then ends, so a group let go then would be one the watchdog forgot.
    """
    if leave_nothing:
        kill_group(group, reaped)
    _WATCHDOG.release(group)


def _placement() -> str:
    """The log line saying where a node runs and what Ray reserved for it (a task's own
    reservation, or a slot's for as long as it lives)."""
    context = ray.get_runtime_context()
    assigned: dict[str, float] = context.get_assigned_resources()  # type: ignore[no-untyped-call]
    reserved = ", ".join(
        f"{name}={int(amount) if float(amount).is_integer() else amount}"
        for name, amount in sorted(assigned.items())
    )
    return (
        f"# nodepipe: Ray worker on {socket.gethostname()} (pid {os.getpid()}), "
        f"reserved {reserved or 'nothing'}\n"
    )


def _log_placement(task: NodeTask, placement: str | None = None) -> None:
    """Say in the node's log where it runs and what Ray reserved for it."""
    line = placement or _placement()
    task.log_file.parent.mkdir(parents=True, exist_ok=True)
    with task.log_file.open("a", encoding="utf-8") as log:
        log.write(line)
