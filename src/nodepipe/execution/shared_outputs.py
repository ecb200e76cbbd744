"""Outputs shared between workspaces through the object storage, by what made them.

When a run has a storage (``--storage``, ``[storage] url``), every node that completes
publishes its outputs there and a **run record**: ``runs/<key>`` names its output digest,
where the key hashes what the outputs depend on, as the node's fingerprint does (code, lock,
conda lock, parameters, entry point, and each parent's outputs by slot) but without node ids,
which every workspace mints anew. Before a node runs, its key is looked up: when another
workspace (or this one, earlier) made outputs from exactly the same things, they are
downloaded by digest and promoted as a run's would be (``remote_task.land``: never
half-written), and the node does not run; outputs a record names that cannot be brought (a
content damaged or missing) are not used: the node runs, and its upload repairs the storage.
``--force`` always runs. This is DVC's run cache,
kept in the same storage as the remote workers' objects. Whoever can write the storage is
trusted to have made what it records.

``SharedOutputs`` wraps any executor to do this; the wrapped executor runs what is not pulled.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from concurrent.futures import Future
from datetime import UTC, datetime

from nodepipe.domain.environments import is_sha256
from nodepipe.domain.errors import NodepipeError
from nodepipe.domain.runs import RunOutcome, TaskOutcome
from nodepipe.domain.staleness import canonical_json, sha256_text
from nodepipe.execution.executor import Executor, PreparingCallback, StartedCallback
from nodepipe.execution.remote_task import LogChunk, append_log, bring, land
from nodepipe.execution.task import NodeTask
from nodepipe.workspace.storage import Storage
from nodepipe.workspace.storage_trees import upload_outputs

PULLED_HOST = "storage"
"""Where the store says a pulled node ran."""


def run_key(fingerprint_json: str) -> str | None:
    """What a node's outputs depend on, hashed without node ids; None if it cannot be read."""
    try:
        data = json.loads(fingerprint_json)
        parts = {
            "code": data["code"],
            "entry": data["entry"],
            "params": data["params_digest"],
            "lock": data["lock"]["digest"],
            "parents": {slot: p["outputs"] for slot, p in data["parents"].items()},
        }
        if "conda" in data:  # only then: keys of nodes without conda stay what they were
            parts["conda"] = data["conda"]["digest"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return sha256_text(canonical_json(parts))


def recorded_outputs(storage: Storage, key: str) -> str | None:
    """The output digest the run record ``key`` names, if there is a well-formed one."""
    raw = storage.read_record(key)
    try:
        digest = json.loads(raw)["outputs"] if raw is not None else None
    except (ValueError, KeyError, TypeError):
        return None
    return digest if isinstance(digest, str) and is_sha256(digest) else None


class SharedOutputs:
    """An executor that pulls outputs already made elsewhere and publishes what it makes."""

    def __init__(self, inner: Executor, storage: Storage, pull: bool = True) -> None:
        self.inner = inner
        self.storage = storage
        self.pull = pull
        self.name = inner.name
        self.prefetch = inner.prefetch
        self._lock = threading.Lock()
        self._waiting: set[str] = set()  # handed over, not yet submitted to ``inner``
        self._cancelled: set[str] = set()

    def start(self) -> None:
        self.inner.start()

    def stop(self) -> None:
        self.inner.stop()

    def cancel(self, node_run_ids: Collection[str]) -> None:
        with self._lock:
            self._cancelled.update(set(node_run_ids) & self._waiting)
        self.inner.cancel(node_run_ids)

    def submit(
        self,
        task: NodeTask,
        on_started: StartedCallback,
        on_preparing: PreparingCallback | None = None,
    ) -> Future[TaskOutcome]:
        outer: Future[TaskOutcome] = Future()
        with self._lock:
            self._waiting.add(task.node_run_id)
        threading.Thread(
            target=self._submit,
            args=(task, on_started, on_preparing, outer),
            name=f"share-{task.tag}",
            daemon=True,
        ).start()
        return outer

    def _submit(
        self,
        task: NodeTask,
        on_started: StartedCallback,
        on_preparing: PreparingCallback | None,
        outer: Future[TaskOutcome],
    ) -> None:
        key = run_key(task.fingerprint)
        try:
            if self.pull and key is not None and self._pulled(task, key, on_started, outer):
                return
            with self._lock:  # a cancel from now on reaches the inner executor
                self._waiting.discard(task.node_run_id)
                if task.node_run_id in self._cancelled:
                    self._cancelled.discard(task.node_run_id)
                    outer.set_result(TaskOutcome.cancelled_before_it_started(task.node_run_id))
                    return
                inner = self.inner.submit(task, on_started, on_preparing)
        except BaseException as exc:
            outer.set_exception(exc)
            return
        inner.add_done_callback(lambda done: self._publish(task, key, done, outer))

    def _pulled(
        self, task: NodeTask, key: str, on_started: StartedCallback, outer: Future[TaskOutcome]
    ) -> bool:
        """Bring the outputs a run record names; False (the node runs) when there are none,
        or they cannot be brought."""
        try:
            digest = recorded_outputs(self.storage, key)
        except NodepipeError:
            return False
        if digest is None:
            return False
        try:
            bring(task, self.storage, digest)
        except (NodepipeError, OSError) as exc:
            note = (
                f"# nodepipe: outputs {digest[:12]} recorded in {self.storage.url} could not be "
                f"pulled ({exc}); the node runs, and its upload replaces what is damaged\n"
            )
            append_log(task, LogChunk(note.encode()))
            return False
        started = datetime.now(UTC)
        on_started(task.node_run_id, None, PULLED_HOST, None)
        message = "outputs pulled from the storage"
        done = TaskOutcome(task.node_run_id, RunOutcome.COMPLETED, 0, message, digest, started)
        outcome = land(task, self.storage, done, brought=True)
        with self._lock:
            self._waiting.discard(task.node_run_id)
            self._cancelled.discard(task.node_run_id)
        line = (
            f"# nodepipe: outputs {digest[:12]} pulled from {self.storage.url}: made elsewhere "
            "from the same code, lock, parameters and inputs; the node did not run\n"
            if outcome.status is RunOutcome.COMPLETED
            else f"# nodepipe: {outcome.message}\n"
        )
        append_log(task, LogChunk(line.encode()))
        outer.set_result(outcome)
        return True

    def _publish(
        self, task: NodeTask, key: str | None, done: Future[TaskOutcome], outer: Future[TaskOutcome]
    ) -> None:
        """Publish a completed node's outputs and run record, then hand its outcome on."""
        error = done.exception()
        if error is not None:
            outer.set_exception(error)
            return
        outcome = done.result()
        if outcome.fingerprint is not None:  # the node changed before it launched: its key
            key = run_key(outcome.fingerprint)
        if outcome.status is RunOutcome.COMPLETED and outcome.output_digest and key is not None:
            try:
                if upload_outputs(self.storage, task.folder.data) == outcome.output_digest:
                    record = canonical_json({"outputs": outcome.output_digest}).encode()
                    self.storage.put_record(key, record)
            except (NodepipeError, OSError) as exc:
                note = f"# nodepipe: outputs not shared through {self.storage.url}: {exc}\n"
                append_log(task, LogChunk(note.encode()))
        outer.set_result(outcome)
