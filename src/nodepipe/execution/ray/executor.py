"""The Ray executor: the adapter that gives Ray the four verbs of ``Executor`` (driver side).

- **Resources.** ``submit`` reads ``[tool.nodepipe.resources]`` from the node's pyproject on the
  driver and asks Ray for that many CPUs, GPUs and bytes of memory. Ray holds the task until a
  cluster node has them; meanwhile the node run stays ``queued``.
- **Started.** One driver thread per running node follows the stream of the node's remote task
  (``worker.run_on_worker``): its first item reports the node started, its last resolves the
  node's ``Future``.
- **Cancel.** ``ray.cancel(force=False)``, once per node run; the worker stops the node as the
  local executor does and Ray reports the task cancelled once it is over (see ``worker``).
- **No shared filesystem** (``storage`` given). The node's follower thread first ships it
  (``execution.remote_task.ship``: code, lock and parents' outputs to the storage), then submits
  ``worker.run_remote_on_worker``; it appends the log chunks the worker streams to the node's
  log in the workspace, and lands a completed node's outputs (downloaded by digest, promoted as
  a local run's) before resolving its future. A worker that dies mid-task fails the node run
  with Ray's reason; nothing reaches ``data/``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import ray
from ray.exceptions import TaskCancelledError

from nodepipe.domain.errors import NodepipeError
from nodepipe.domain.runs import RunOutcome, TaskOutcome
from nodepipe.execution.executor import PreparingCallback, StartedCallback
from nodepipe.execution.process_groups import KILL_GRACE_SECONDS
from nodepipe.execution.ray import cluster
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
from nodepipe.execution.task import NodeTask
from nodepipe.workspace.node_config import read_node_config
from nodepipe.workspace.storage import Storage


class RayExecutor:
    """Runs node tasks on the Ray cluster at ``address`` (None: a local one-machine Ray); with
    ``storage``, on workers that share no filesystem with the workspace."""

    name = "ray"
    prefetch = 0  # Ray schedules what it is given: hand over no more than --jobs

    def __init__(self, address: str | None, jobs: int, storage: Storage | None = None) -> None:
        self.address = address
        self.jobs = jobs
        self.storage = storage
        self._connected = False
        self._lock = threading.RLock()  # _forget is also called with it held
        self._streams: dict[str, Any] = {}  # node run id -> its ObjectRefGenerator
        self._followers: dict[str, threading.Thread] = {}
        self._cancelled: set[str] = set()

    def start(self) -> None:
        cluster.acquire(self.address)
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
        if self.storage is not None:
            follower = threading.Thread(
                target=self._ship_and_follow,
                args=(task, self.storage, future, on_started),
                name=f"ray-{task.tag}",
                daemon=True,
            )
            with self._lock:
                self._followers[task.node_run_id] = follower
            follower.start()
            return future
        try:
            stream = run_on_worker.options(**_options(task)).remote(task)
        except Exception as exc:  # e.g. a resource request Ray refuses (1.5 CPUs)
            future.set_result(_refused(task, exc))
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

    def _ship_and_follow(
        self,
        task: NodeTask,
        storage: Storage,
        future: Future[TaskOutcome],
        on_started: StartedCallback,
    ) -> None:
        """Ship the node to the storage, submit it, then follow it (driver thread)."""
        try:
            remote = ship(task, storage)
        except (NodepipeError, OSError) as exc:
            message = f"cannot send the node to the storage: {exc}"
            self._forget(task)
            future.set_result(TaskOutcome(task.node_run_id, RunOutcome.ERROR, None, message))
            return
        with self._lock:
            if task.node_run_id in self._cancelled:
                self._forget(task)
                future.set_result(
                    TaskOutcome(task.node_run_id, RunOutcome.CANCELLED, None, "killed")
                )
                return
            try:
                stream = run_remote_on_worker.options(**_options(task)).remote(remote)
            except Exception as exc:
                self._followers.pop(task.node_run_id, None)
                future.set_result(_refused(task, exc))
                return
            self._streams[task.node_run_id] = stream
        self._follow(remote.task, stream, future, on_started, storage, remote.relaunched)

    def cancel(self, node_run_ids: Collection[str]) -> None:
        for node_run_id in node_run_ids:
            with self._lock:
                stream = self._streams.get(node_run_id)
                if node_run_id in self._cancelled:
                    continue  # a second interrupt would only disturb the worker's clean-up
                if stream is None:  # still being shipped: it will not be submitted
                    if node_run_id in self._followers:
                        self._cancelled.add(node_run_id)
                    continue
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
            cluster.release()

    def _follow(
        self,
        task: NodeTask,
        stream: Any,
        future: Future[TaskOutcome],
        on_started: StartedCallback,
        storage: Storage | None = None,
        relaunched: bool = False,
    ) -> None:
        """Report the node started, then resolve its future with the outcome (driver thread);
        a shipped node's log is appended as it comes, its outputs landed at the end (with the
        fingerprint it was shipped with: ``relaunched``)."""
        started_at = datetime.now(UTC)
        try:
            for ref in stream:
                item = ray.get(ref)
                if isinstance(item, NodeStartedOnWorker):
                    started_at = datetime.now(UTC)
                    on_started(task.node_run_id, item.pid, item.host, item.environment)
                    continue
                if isinstance(item, LogChunk):
                    append_log(task, item)
                    continue
                if isinstance(item, RemoteReports):
                    assert storage is not None
                    land_reports(task, storage, item)
                    continue
                future.set_result(
                    item if storage is None else land(task, storage, item, relaunched)
                )
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
            self._forget(task)

    def _forget(self, task: NodeTask) -> None:
        with self._lock:
            self._streams.pop(task.node_run_id, None)
            self._followers.pop(task.node_run_id, None)
            self._cancelled.discard(task.node_run_id)


def _refused(task: NodeTask, exc: Exception) -> TaskOutcome:
    """E.g. a resource request Ray refuses (1.5 CPUs)."""
    message = f"cannot submit the node to Ray: {exc}"
    return TaskOutcome(task.node_run_id, RunOutcome.ERROR, None, message)


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
