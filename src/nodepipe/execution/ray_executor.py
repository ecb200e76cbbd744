"""The Ray executor: the same ``NodeProcess`` as the local executor, run on a Ray worker.

The only module of nodepipe that imports ``ray`` (install ``nodepipe[ray]``). The workspace must
be on a filesystem that every Ray node mounts at the same path, and the workers' Python must have
nodepipe installed: a worker runs ``NodeProcess(task).run()`` exactly as the local executor does
(environment check against the lock, staging folder, per-run log file, output swap), so logs and
outputs land where they would locally.

- **Resources.** ``submit`` reads ``[tool.nodepipe.resources]`` from the node's pyproject on the
  driver and asks Ray for that many CPUs, GPUs and bytes of memory. Ray holds the task until a
  cluster node has them; meanwhile the node run stays ``queued``.
- **Started.** The remote function is a streaming generator: it yields once when the node's
  process is up (its pid and the worker's host, so the store says where it runs and crash
  recovery can find it on the same host) and once more with the ``TaskOutcome``. One driver
  thread per running node follows the stream and resolves the node's ``Future``.
- **Cancel.** ``ray.cancel(force=False)`` raises ``KeyboardInterrupt`` in the worker's main
  thread through ``_thread.interrupt_main()``, which does not interrupt a blocking system call: a
  main thread blocked in ``waitpid`` would never see it and the node would run on. So the node
  runs in a helper thread while the main thread waits in short slices, and an interrupt makes it
  call ``NodeProcess.cancel()`` (SIGTERM to the node's process group, SIGKILL after the grace
  period; the staging folder is discarded, ``data/`` untouched). Ray reports the task cancelled
  only once that is done. ``force=True`` is never used: it kills the worker and would orphan the
  node's process group, which runs in its own session.
- **Orphans.** When the driver dies (nodepipe crashed, or was killed), Ray force-exits its workers
  from C++ without running any Python, and kills only their direct children. A watchdog shell per
  node (see ``_Watchdog``) then kills the rest of the node's process group, so no node process
  keeps writing after its orchestrator is gone; crash recovery marks the node run interrupted.
- **No retries.** Ray never re-runs a node on its own (``max_retries=0``); nodepipe decides.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Collection, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ray
from ray.exceptions import TaskCancelledError

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.runs import RunOutcome, TaskOutcome
from nodepipe.execution.executor import StartedCallback
from nodepipe.execution.process_groups import KILL_GRACE_SECONDS
from nodepipe.execution.task import NodeProcess, NodeTask
from nodepipe.workspace.node_config import read_node_config

WAIT_SLICE_SECONDS = 0.1
"""How often a worker's main thread, waiting for its node, lets a cancellation through."""


@dataclass(frozen=True, slots=True)
class NodeStartedOnWorker:
    """The first item of a node's stream: its process is up."""

    pid: int
    host: str


class RayExecutor:
    """Runs node tasks on the Ray cluster at ``address`` (None: a local one-machine Ray)."""

    name = "ray"
    prefetch = 0  # Ray schedules what it is given: hand over no more than --jobs

    def __init__(self, address: str | None, jobs: int) -> None:
        self.address = address
        self.jobs = jobs
        self._connected = False
        self._lock = threading.Lock()
        self._streams: dict[str, Any] = {}  # node run id -> its ObjectRefGenerator
        self._followers: dict[str, threading.Thread] = {}
        self._cancelled: set[str] = set()

    def start(self) -> None:
        _CONNECTION.acquire(self.address)
        self._connected = True

    def submit(self, task: NodeTask, on_started: StartedCallback) -> Future[TaskOutcome]:
        assert self._connected, "start() the executor first"
        future: Future[TaskOutcome] = Future()
        try:
            stream = _run_on_worker.options(**_options(task)).remote(task)
        except Exception as exc:  # e.g. a resource request Ray refuses (1.5 CPUs)
            message = f"cannot submit the node to Ray: {exc}"
            future.set_result(TaskOutcome(task.node_run_id, RunOutcome.ERROR, None, message))
            return future
        follower = threading.Thread(
            target=self._follow,
            args=(task, stream, future, on_started),
            name=f"ray-{task.tag}",
            daemon=True,
        )
        with self._lock:
            self._streams[task.node_run_id] = stream
            self._followers[task.node_run_id] = follower
        follower.start()
        return future

    def cancel(self, node_run_ids: Collection[str]) -> None:
        for node_run_id in node_run_ids:
            with self._lock:
                stream = self._streams.get(node_run_id)
                if stream is None or node_run_id in self._cancelled:
                    continue  # a second interrupt would only disturb the worker's clean-up
                self._cancelled.add(node_run_id)
            ray.cancel(stream, force=False)

    def stop(self) -> None:
        """Cancel what still runs, wait until Ray reports it over, then disconnect."""
        with self._lock:
            running = list(self._streams)
        for node_run_id in running:
            with contextlib.suppress(Exception):  # best effort: disconnecting matters more
                self.cancel([node_run_id])
        with self._lock:
            followers = list(self._followers.values())
        for follower in followers:
            follower.join(timeout=KILL_GRACE_SECONDS + 30)
        if self._connected:
            self._connected = False
            _CONNECTION.release()

    def _follow(
        self, task: NodeTask, stream: Any, future: Future[TaskOutcome], on_started: StartedCallback
    ) -> None:
        """Report the node started, then resolve its future with the outcome (driver thread)."""
        started_at = datetime.now(UTC)
        try:
            for ref in stream:
                item = ray.get(ref)
                if isinstance(item, NodeStartedOnWorker):
                    started_at = datetime.now(UTC)
                    on_started(task.node_run_id, item.pid, item.host)
                    continue
                future.set_result(item)
                return
            raise RuntimeError("the Ray task ended without reporting how the node ended")
        except TaskCancelledError:  # Ray's word for a cancelled task: this module's to translate
            outcome = TaskOutcome(
                task.node_run_id, RunOutcome.CANCELLED, None, "killed", None, started_at
            )
            future.set_result(outcome)
        except BaseException as exc:  # e.g. a listener failed: the node must not run on alone
            with contextlib.suppress(Exception):
                ray.cancel(stream, force=False)
            future.set_exception(exc)
        finally:
            with self._lock:
                self._streams.pop(task.node_run_id, None)
                self._followers.pop(task.node_run_id, None)
                self._cancelled.discard(task.node_run_id)


def _options(task: NodeTask) -> dict[str, Any]:
    """Ray task options from the node's ``[tool.nodepipe.resources]``."""
    resources = read_node_config(task.folder.code / "pyproject.toml").resources
    options: dict[str, Any] = {
        "num_cpus": resources.cpus,
        "num_gpus": resources.gpus,
        "name": f"nodepipe:{task.tag}",
    }
    if resources.memory_bytes is not None:
        options["memory"] = resources.memory_bytes
    return options


# What runs on the worker ----------------------------------------------------------------------


@ray.remote(max_retries=0, num_returns="streaming")
def _run_on_worker(task: NodeTask) -> Iterator[NodeStartedOnWorker | TaskOutcome]:
    """Run one node on this worker; yields its start, then its outcome."""
    node = _NodeOnWorker(task)
    try:
        _log_placement(task)
        node.start()
        while True:
            item = node.next_event()
            yield item
            if isinstance(item, TaskOutcome):
                return
    except KeyboardInterrupt:  # ray.cancel(): stop the node as the local executor does
        node.stop(graceful=True)
        raise
    except BaseException:  # the worker is going away (SystemExit), or Ray dropped the stream
        node.stop(graceful=False)
        raise


class _NodeOnWorker:
    """A ``NodeProcess`` in a helper thread; the worker's main thread waits for its events."""

    def __init__(self, task: NodeTask) -> None:
        self.process = NodeProcess(task)
        self.events: queue.Queue[NodeStartedOnWorker | TaskOutcome | BaseException] = queue.Queue()
        self.group: int | None = None  # the node's process group, once it is up
        self.watchdog: _Watchdog | None = None
        self.host = socket.gethostname()
        self.thread = threading.Thread(target=self._run, name=f"node-{task.tag}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            outcome = self.process.run(self._started)
        except BaseException as exc:  # raised again by the main thread, for the driver
            self.events.put(exc)
            return
        if self.watchdog is not None:
            self.watchdog.release()
        self.events.put(outcome)

    def _started(self, pid: int) -> None:
        self.group = pid
        self.watchdog = _Watchdog(pid)
        self.events.put(NodeStartedOnWorker(pid, self.host))

    def next_event(self) -> NodeStartedOnWorker | TaskOutcome:
        """Wait in slices: Ray's cancellation can only be raised between bytecodes."""
        while True:
            with contextlib.suppress(queue.Empty):
                item = self.events.get(timeout=WAIT_SLICE_SECONDS)
                if isinstance(item, BaseException):
                    raise item
                return item

    def stop(self, graceful: bool) -> None:
        """Kill the node (SIGTERM then SIGKILL, or SIGKILL at once) and let its thread clean up.

        The kill runs in its own thread so that a repeated interrupt cannot cut it short. Not
        graceful, the wait is bounded: the worker is about to go.
        """
        if not graceful and self.group is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.group, signal.SIGKILL)
        killer = threading.Thread(target=self.process.cancel, name="node-kill", daemon=True)
        killer.start()
        deadline = None if graceful else time.monotonic() + KILL_GRACE_SECONDS
        for thread in (killer, self.thread):
            while thread.is_alive() and (deadline is None or time.monotonic() < deadline):
                with contextlib.suppress(KeyboardInterrupt):
                    thread.join(WAIT_SLICE_SECONDS)


_WATCHDOG_SCRIPT = (
    'exec 3<&0; (IFS= read -r line <&3; [ "$line" = done ] || kill -s KILL -- "-$1") '
    ">/dev/null 2>&1 &"
)


class _Watchdog:
    """SIGKILLs a node's process group if this worker process ends before the node does.

    When its driver dies (or its job ends), Ray force-exits a worker from C++: no Python code
    runs, and Ray kills only the worker's direct children, so the rest of the node's group (it
    runs in its own session) would live on. The watchdog is a detached shell, not a child of the
    worker, that reads a pipe only the worker holds: "done" means the node ended; end of file
    without it means the worker is gone, and the shell kills the node's group.
    """

    def __init__(self, group: int) -> None:
        launcher = subprocess.Popen(
            ["sh", "-c", _WATCHDOG_SCRIPT, "nodepipe-watchdog", str(group)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        launcher.wait()
        assert launcher.stdin is not None
        self._pipe = launcher.stdin

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self._pipe.write(b"done\n")
            self._pipe.close()


def _log_placement(task: NodeTask) -> None:
    """Say in the node's log where it runs and what Ray reserved for it."""
    context = ray.get_runtime_context()
    assigned: dict[str, float] = context.get_assigned_resources()  # type: ignore[no-untyped-call]
    reserved = ", ".join(
        f"{name}={int(amount) if float(amount).is_integer() else amount}"
        for name, amount in sorted(assigned.items())
    )
    task.log_file.parent.mkdir(parents=True, exist_ok=True)
    with task.log_file.open("a", encoding="utf-8") as log:
        log.write(
            f"# nodepipe: Ray worker on {socket.gethostname()} (pid {os.getpid()}), "
            f"reserved {reserved or 'nothing'}\n"
        )


# The driver's connection, shared by the executors of one process ------------------------------


class _Connection:
    """Connects on the first ``acquire``; disconnects after the last ``release`` (if we connected).

    Several runs may go on at once in one process (the web app): they share the connection, and
    a Ray that the embedding program connected itself is never shut down by nodepipe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._owned = False

    def acquire(self, address: str | None) -> None:
        with self._lock:
            if ray.is_initialized():
                _check_same_cluster(address)
            else:
                _connect(address)
                self._owned = True
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._owned:
                self._owned = False
                ray.shutdown()


_CONNECTION = _Connection()


def _connect(address: str | None) -> None:
    common: dict[str, Any] = {
        "ignore_reinit_error": True,
        "log_to_driver": False,
        "include_dashboard": False,
        "logging_level": logging.WARNING,
    }
    # ray.init replaces the SIGTERM handler with sys.exit; nodepipe's (cancel the run) stays.
    in_main_thread = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if in_main_thread else None
    try:
        if address is None:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(address="local", _node_ip_address="127.0.0.1", **common)
        else:
            ray.init(address=address, **common)
    except Exception as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise InvalidInputError(
            f"cannot connect to {where}: {exc}. Start one with `ray start --head` and pass its "
            "address with --ray-address, or leave the address out to start a local Ray"
        ) from exc
    finally:
        if sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)


def _check_same_cluster(address: str | None) -> None:
    """Refuse a second cluster: one process talks to one Ray at a time."""
    if address is None or address == "auto" or "://" in address:
        return
    current = ray.get_runtime_context().gcs_address
    if _normalized(address) != _normalized(current):
        raise InvalidInputError(
            f"this process is already connected to the Ray cluster at {current}; it cannot also "
            f"use {address}. Run against {current}, or from another process"
        )


def _normalized(address: str) -> str:
    host, _, port = address.rpartition(":")
    with contextlib.suppress(OSError):
        host = socket.gethostbyname(host)
    return f"{host}:{port}"
