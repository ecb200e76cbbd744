"""What a worker without the workspace does with a ``RemoteTask`` (worker side, no Ray here).

```
$NODEPIPE_WORKER_DIR (default <tmp>/nodepipe-worker-<uid>)/
  objects/          contents downloaded from the storage, by sha256 (each fetched once)
  envs/<key>/       an environment per pyproject + uv.lock (+ .python-version): .venv inside
  uv-cache/         the worker's uv cache (packages hard-linked into its environments)
  runs/<node run>/  one node run: code/ (with .venv linking to its environment), data/,
                    reports/, logs/, parents/<slot>/, imports/<n>/; removed when it ends
```

``WorkerRun.prepare`` materialises the node: its code from the storage, its environment
(synced ``--frozen`` from the lock with the worker's uv cache the first time a worker sees the
lock, reused as it is afterwards: the second task with the same lock starts without a sync),
its parents' outputs by digest and the folders on its import path. The ``NodeTask`` it returns
is the shipped one with the worker's paths, so ``NodeProcess`` runs it exactly as anywhere else
(same variables, staging folder, swap). ``finish`` uploads the node's reports, then the
promoted outputs: the digest the run computed is the digest the storage names them by.
``read_log`` hands out what the log gained since it last looked, for streaming.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from nodepipe.domain.environments import CONDA_PREFIX
from nodepipe.domain.errors import NodepipeError, StorageError
from nodepipe.domain.runs import RunOutcome, TaskOutcome
from nodepipe.envs.members import member_files
from nodepipe.envs.node_env import NodeEnvironments
from nodepipe.envs.uv import UvRunner
from nodepipe.execution.remote_task import LogChunk, RemoteReports, RemoteTask
from nodepipe.execution.task import NodeTask
from nodepipe.execution.task_factory import RUNTIME_DIR
from nodepipe.workspace.config import default_interpreter
from nodepipe.workspace.node_folder import NodeFolder
from nodepipe.workspace.objects import DamagedObjectError, MissingObjectError, ObjectStore
from nodepipe.workspace.storage import REPAIRED_BY_UPLOAD, Storage
from nodepipe.workspace.storage_trees import download_code, download_outputs, upload_outputs

WORKER_DIR_ENV = "NODEPIPE_WORKER_DIR"
ENVIRONMENT_FILES = ("pyproject.toml", "uv.lock", ".python-version", "conda.lock")


def worker_dir() -> Path:
    """This worker's scratch folder (made 0700), refused when another user owns it or may
    write to it: what it holds (environments, code) is run."""
    configured = os.environ.get(WORKER_DIR_ENV)
    path = Path(configured or tempfile.gettempdir()) / (
        "" if configured else f"nodepipe-worker-{os.getuid()}"
    )
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise StorageError(
            f"the worker folder {path} is not this user's own (a link, another owner, or "
            f"writable by others); remove it, or name another with {WORKER_DIR_ENV}"
        )
    return path


class WorkerRun:
    """One remote node run on this worker, from its materialised folder to its uploaded
    outputs."""

    def __init__(self, remote: RemoteTask) -> None:
        self.remote = remote
        self.storage = Storage.open(remote.storage_url)
        self.root = worker_dir()  # StorageError: the task fails with it
        self.cache = ObjectStore(self.root / "objects")
        self.folder = NodeFolder.at(self.root / "runs" / remote.task.node_run_id)
        self.python = default_interpreter()
        self._read = 0
        self._claim = _claim(self.folder.path)

    def prepare(self) -> NodeTask:
        """The node's folder on this worker, and its task there."""
        shipped, path = self.remote.task, self.folder.path
        shutil.rmtree(path, ignore_errors=True)
        download_code(self.storage, self.remote.code, self.folder.code, self.cache)
        self.folder.make_output_dirs()
        started = time.monotonic()
        reused = self._environment()
        parents = {}
        for slot, digest in sorted(self.remote.parents.items()):
            self._fetch_parent(slot, digest, path / "parents" / slot)
            parents[slot] = str(path / "parents" / slot)
        imports = []
        for number, digest in enumerate(self.remote.imports):
            target = path / "imports" / str(number)
            download_code(self.storage, digest, target, self.cache)
            imports.append(str(target))
        task = replace(
            shipped,
            node_dir=str(path),
            argv=tuple(self._here(part) for part in shipped.argv),
            context=_with_parents(shipped.context, parents),
            runtime_dir=str(RUNTIME_DIR),
            uv_cache_dir=str(self.root / "uv-cache"),
            python=self.python,
            lock_cache_dir=str(self.root / "lock-cache"),
            journal_dir=str(self.root / "journal"),
            shared_env_dir=None,
            import_dirs=tuple(imports),
            objects_dir=str(self.cache.root),
            conda_cache_dir=str(self.root / "conda-pkgs"),
        )
        how = "reused" if reused else "built"
        with task.log_file.open("ab") as log:
            seconds = time.monotonic() - started
            log.write(f"# nodepipe: environment {how} on this worker ({seconds:.1f} s)\n".encode())
        return task

    def _fetch_parent(self, slot: str, digest: str, target: Path) -> None:
        """Download parent ``slot``'s outputs; one that cannot be fetched (a content damaged or
        missing in the storage) is refused naming the parent. The orchestrator sent them from
        the workspace, which still holds them: shipping the node again sends a content that a
        refusal noted, so running this node again repairs it."""
        try:
            download_outputs(self.storage, digest, target)
        except (DamagedObjectError, MissingObjectError) as exc:
            tag = next(
                (
                    p.get("tag")
                    for p in self.remote.task.context.get("parents", [])
                    if str(p.get("slot")) == slot
                ),
                None,
            )
            said = str(exc).removesuffix(REPAIRED_BY_UPLOAD).rstrip("; ")
            raise type(exc)(
                f"parent {slot}{f' ({tag})' if tag else ''}: its outputs {digest[:12]} could "
                f"not be fetched: {said}; run this node again: the workspace's copy of them is "
                "sent again"
            ) from exc

    def _environment(self) -> bool:
        """Link the node's ``.venv`` to this worker's environment for its lock, synced first
        if new; True when it was there already. Nodes that install folders of their own code
        (members) get an environment of their own, synced in place."""
        code = self.folder.code
        environments = NodeEnvironments(
            UvRunner(self.root / "uv-cache"),
            self.python,
            self.root / "lock-cache",
            self.root / "journal",
            self.root / "conda-pkgs",
        )
        if member_files(code):
            return not environments.ensure_synced(code)
        key = hashlib.sha256(self.python.encode())
        for name in ENVIRONMENT_FILES:
            key.update(name.encode() + b"\0")
            key.update((code / name).read_bytes() if (code / name).is_file() else b"-")
        project = self.root / "envs" / key.hexdigest()[:32]
        project.mkdir(parents=True, exist_ok=True)
        with (self.root / "envs" / f"{project.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one sync per lock at a time on this worker
            for name in ENVIRONMENT_FILES:
                if (code / name).is_file() and not (project / name).is_file():
                    shutil.copyfile(code / name, project / name)
            reused = not environments.ensure_synced(project)
        (code / ".venv").symlink_to(project / ".venv")
        if (project / CONDA_PREFIX).is_dir():  # the conda prefix built from the same lock
            (code / CONDA_PREFIX).symlink_to(project / CONDA_PREFIX)
        return reused

    def _here(self, part: str) -> str:
        """An argument naming the node's folder in the workspace, made to name it here."""
        shipped = self.remote.task
        for before, after in (
            (shipped.node_dir, str(self.folder.path)),
            (shipped.runtime_dir, str(RUNTIME_DIR)),
        ):
            if part == before or part.startswith(before + "/"):
                return after + part[len(before) :]
        return part

    def read_log(self, task: NodeTask) -> LogChunk | None:
        """What the node's log gained since the last call (None: nothing)."""
        try:
            with task.log_file.open("rb") as log:
                log.seek(self._read)
                data = log.read()
        except FileNotFoundError:
            return None
        self._read += len(data)
        return LogChunk(data) if data else None

    def finish(self, outcome: TaskOutcome) -> Iterator[RemoteReports | TaskOutcome]:
        """Upload the node's reports (whatever the outcome: they help to see why it failed),
        then a completed run's outputs (a failed run's are gone already); the outcome last."""
        try:
            yield RemoteReports(upload_outputs(self.storage, self.folder.reports))
            if outcome.status is RunOutcome.COMPLETED and outcome.output_digest is not None:
                digest = upload_outputs(self.storage, self.folder.data)
                if digest != outcome.output_digest:
                    raise StorageError(
                        f"the outputs changed while they were uploaded ({digest[:12]}, not "
                        f"{outcome.output_digest[:12]})"
                    )
        except (NodepipeError, OSError) as exc:
            message = f"the node's outputs could not be uploaded: {exc}"
            outcome = replace(outcome, status=RunOutcome.ERROR, output_digest=None, message=message)
        yield outcome

    def remove(self) -> None:
        """Remove the run's folder (before its outcome is handed out: once the driver has it,
        the driver may disconnect, and Ray then ends this worker without running Python)."""
        shutil.rmtree(self.folder.path, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            _lock_file(self.folder.path).unlink()
        self._claim.close()


def _lock_file(run_folder: Path) -> Path:
    return run_folder.with_name(run_folder.name + ".lock")


def _claim(run_folder: Path) -> IO[str]:
    """Hold the run folder's lock while the task lasts; first remove the folders of tasks
    that hold none (their worker died: killed, or ended by Ray mid-task)."""
    runs = run_folder.parent
    runs.mkdir(parents=True, exist_ok=True)
    for lock in runs.glob("*.lock"):
        with lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live task
            shutil.rmtree(runs / lock.stem, ignore_errors=True)
            lock.unlink(missing_ok=True)
    claim = _lock_file(run_folder).open("a")
    fcntl.flock(claim, fcntl.LOCK_EX)
    return claim


def _with_parents(context: dict[str, Any], parents: dict[str, str]) -> dict[str, Any]:
    """The node's context with each parent's ``data_dir`` where its outputs are here."""
    return {
        **context,
        "parents": [
            {**parent, "data_dir": parents[str(parent["slot"])]}
            for parent in context.get("parents", [])
        ],
    }
