"""A node task for a worker that shares no filesystem with the workspace (driver side).

``ship`` turns a ``NodeTask`` into a ``RemoteTask``: the node's ``code/`` (its ``uv.lock`` and
``pyproject.toml`` among its files) and the folders on its import path go to the object storage
as content-addressed trees, so unchanged code costs an existence check per file; each parent's
``data/`` goes there by its output digest (a parent that ran remotely in this run is there
already). The code is also recorded in the workspace's own object store, as a local run records
it, so ``env show --run`` works alike: read at shipping time (``launch_fingerprint``), not as
the run planned it, so a file edited while the node waited is recorded as it was sent, and
the shipped task carries that fingerprint (``RemoteTask.relaunched``).

``land`` brings a completed remote node's outputs home: they are downloaded by digest
(``bring``) into a fresh staging folder of the node and promoted exactly as a local run's are
(``workspace.output_swap``), so a download cut short, a damaged content or a killed orchestrator
leave ``data/`` as it was; ``land_reports`` brings its ``reports/`` (any outcome). ``LogChunk``
is what a worker streams back of the node's log.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from nodepipe.domain.errors import InvalidInputError, NodepipeError, StorageError
from nodepipe.domain.runs import RunOutcome, TaskOutcome
from nodepipe.execution.run_files import point_latest_log
from nodepipe.execution.task import NodeTask
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.fingerprint import launch_fingerprint
from nodepipe.workspace.objects import ObjectStore
from nodepipe.workspace.output_swap import Promotion, discard, open_staging, promote
from nodepipe.workspace.run_environment import known_digests, record_environment
from nodepipe.workspace.storage import Storage
from nodepipe.workspace.storage_trees import download_outputs, upload_code, upload_outputs


@dataclass(frozen=True, slots=True)
class RemoteTask:
    """A ``NodeTask`` (paths as the workspace has them) and what travels in its stead."""

    task: NodeTask
    storage_url: str
    code: str
    """The digest of the node's code manifest in the storage."""
    parents: dict[str, str]
    """Slot -> the digest of that parent's outputs in the storage."""
    imports: tuple[str, ...] = ()
    """Code digests of the folders on the node's import path, in order."""
    relaunched: bool = False
    """Whether the node changed between planning and shipping (``task`` has its new
    fingerprint)."""


@dataclass(frozen=True, slots=True)
class LogChunk:
    """Bytes the node's log gained on the worker, in order."""

    data: bytes


@dataclass(frozen=True, slots=True)
class RemoteReports:
    """The digest of the node's ``reports/`` as the run left them on the worker."""

    digest: str


def ship(task: NodeTask, storage: Storage) -> RemoteTask:
    """Upload what ``task`` needs (what is there already is not sent again)."""
    if task.shared_env_dir is not None:
        raise InvalidInputError(
            f"node {task.tag} uses a shared environment, which a worker without the workspace's "
            "filesystem cannot reach; give the node its own environment, or run it with a "
            "shared filesystem"
        )
    code = task.folder.code
    try:
        fingerprint = launch_fingerprint(task.folder, task.fingerprint)
    except OSError as exc:
        raise StorageError(f"could not read what the node runs with: {exc}") from exc
    relaunched = fingerprint != task.fingerprint
    task = replace(task, fingerprint=fingerprint)
    if task.objects_dir:
        record_environment(code, ObjectStore(Path(task.objects_dir)), known_digests(fingerprint))
    parents = {
        str(parent["slot"]): upload_outputs(storage, Path(parent["data_dir"]))
        for parent in task.context.get("parents", [])
    }
    imports = tuple(upload_code(storage, Path(folder)) for folder in task.import_dirs)
    crash_point("remote.shipping")
    return RemoteTask(task, storage.url, upload_code(storage, code), parents, imports, relaunched)


def open_log(task: NodeTask) -> None:
    """Make the node's log in the workspace, empty, and point ``latest.log`` at it: before the
    node goes to a worker, as a local node's log is opened before its process starts. A dead
    run's recovery reads a node run with a log as one that may have run (interrupted), one
    without as never started (given back)."""
    log = task.log_file
    if not log.exists():
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()
        point_latest_log(log)


def append_log(task: NodeTask, chunk: LogChunk) -> None:
    """Add what the worker streamed to the node's log in the workspace."""
    open_log(task)
    with task.log_file.open("ab") as handle:
        handle.write(chunk.data)


def land_reports(task: NodeTask, storage: Storage, reports: RemoteReports) -> None:
    """Bring the reports a remote run wrote into the node's ``reports/`` (each file replaced
    whole: downloaded beside it first). Reports are kept beside the data, not versioned with
    it; a report that cannot be brought is named in the node's log, and the run goes on."""
    folder = task.folder
    incoming = folder.reports / f".incoming-{task.node_run_id}"
    try:
        download_outputs(storage, reports.digest, incoming)
        for path in sorted(p for p in incoming.rglob("*") if p.is_file()):
            target = folder.reports / path.relative_to(incoming)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
    except (NodepipeError, OSError) as exc:
        append_log(task, LogChunk(f"# nodepipe: reports not brought home: {exc}\n".encode()))
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def bring(task: NodeTask, storage: Storage, digest: str) -> None:
    """Download the outputs ``digest`` into a fresh staging folder of the node, for ``land``.
    One that cannot be brought (a content damaged or missing) raises, leaving nothing staged
    and ``data/`` as it was."""
    staging = open_staging(task.folder, task.node_run_id)
    try:
        download_outputs(storage, digest, staging)
    except BaseException:
        discard(task.folder, task.node_run_id)
        raise


def land(
    task: NodeTask,
    storage: Storage,
    outcome: TaskOutcome,
    relaunched: bool = False,
    brought: bool = False,
) -> TaskOutcome:
    """Promote the outputs of a completed remote run into the node's ``data/``, kept with
    ``task``'s fingerprint (the one it was shipped with: ``relaunched`` when that is not the
    planned one, and the outcome says so); another outcome is handed back as it is. They are
    downloaded first unless ``brought`` already. A download that fails fails the node run
    (``ERROR``), with ``data/`` untouched."""
    digest = outcome.output_digest
    if outcome.status is not RunOutcome.COMPLETED or digest is None:
        return outcome
    if relaunched and outcome.fingerprint is None:
        outcome = replace(outcome, fingerprint=task.fingerprint)
    folder = task.folder
    try:
        if not brought:
            bring(task, storage, digest)
        crash_point("remote.downloaded")
        promote(
            folder,
            Promotion(task.run_id, task.node_run_id, digest, task.fingerprint),
        )
    except (NodepipeError, OSError) as exc:
        discard(folder, task.node_run_id)
        message = f"the node's outputs could not be brought from the storage: {exc}"
        return replace(outcome, status=RunOutcome.ERROR, output_digest=None, message=message)
    return outcome
