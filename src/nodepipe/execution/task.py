"""One node run, where it executes: sync the environment, launch, stream logs, swap outputs.

The same ``NodeProcess`` runs under every executor (a thread of the local executor, a Ray
worker): it needs only the shared filesystem and a picklable ``NodeTask``. It never touches
the store; the runner records what it reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from nodepipe.domain.errors import NodepipeError
from nodepipe.envs.node_env import NodeEnvironments
from nodepipe.envs.uv import UvRunner
from nodepipe.execution.slots import ProcessSlots
from nodepipe.workspace.fingerprint import fingerprint_outputs
from nodepipe.workspace.node_folder import NodeFolder
from nodepipe.workspace.output_swap import discard, open_staging, promote

KILL_GRACE_SECONDS = 5.0
CONTEXT_FILE = "context.json"
_DROPPED_ENV = ("PYTHONDONTWRITEBYTECODE", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")


@dataclass(frozen=True, slots=True)
class NodeTask:
    """Everything needed to run one node, as plain picklable values."""

    run_id: str
    node_run_id: str
    node_id: str
    tag: str
    node_dir: str
    argv: tuple[str, ...]
    context: dict[str, Any]
    runtime_dir: str
    uv_cache_dir: str
    python: str
    lock_cache_dir: str
    timeout: float | None = None
    shared_env_dir: str | None = None

    @property
    def folder(self) -> NodeFolder:
        return NodeFolder(Path(self.node_dir))

    @property
    def log_file(self) -> Path:
        return self.folder.logs / f"{self.node_run_id}.log"


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """How a node run ended: ``completed``, ``failed``, ``timeout``, ``cancelled`` or ``error``.

    ``error`` means nodepipe could not run the node (not the node's fault).
    """

    node_run_id: str
    status: str
    exit_code: int | None = None
    message: str = ""
    output_digest: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class NodeProcess:
    """Runs one ``NodeTask`` to completion; ``cancel`` may be called from another thread."""

    def __init__(self, task: NodeTask) -> None:
        self.task = task
        self._process: subprocess.Popen[bytes] | None = None
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._slots: ProcessSlots | None = None

    def run(
        self, on_started: Callable[[int], None] | None = None, slots: ProcessSlots | None = None
    ) -> TaskOutcome:
        """Run the node; with ``slots``, its environment check and process hold one of them."""
        task = self.task
        self._slots = slots
        try:
            self._stage()
            with task.log_file.open("ab") as log:
                log.write(f"# nodepipe: {' '.join(task.argv)}\n".encode())
                log.flush()
                point_latest_log(task)
                ended = self._run_in_slot(log, on_started)
                log.write(f"# nodepipe: {self._ending(ended)}\n".encode())
        except NodepipeError as exc:
            discard(task.folder, task.node_run_id)
            return TaskOutcome(task.node_run_id, "error", None, str(exc))
        if ended is None:
            discard(task.folder, task.node_run_id)
            return TaskOutcome(task.node_run_id, "cancelled", None, "cancelled before it started")
        return self._finish(ended)

    def request_cancel(self) -> None:
        """Mark the run cancelled at once: it will not start, or stop waiting for a slot."""
        self._cancelled.set()
        if self._slots is not None:
            self._slots.wake()

    def cancel(self) -> None:
        """Stop the node's whole process group: SIGTERM, then SIGKILL after a grace period."""
        self.request_cancel()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            terminate_group(process.pid, process)

    def _stage(self) -> None:
        """The node's folders, a fresh staging folder and its context file."""
        task = self.task
        task.folder.make_output_dirs()
        open_staging(task.folder, task.node_run_id)
        write_if_changed(self._context_file(), json.dumps(task.context, indent=2))

    def _run_in_slot(self, log: BinaryIO, on_started: Callable[[int], None] | None) -> _Exit | None:
        """Check the environment and run the process holding a slot; None if cancelled first."""
        with _held(self._slots, self._cancelled) as granted:
            if not granted:
                return None
            started = datetime.now(UTC)
            self._ensure_environment()
            code, timed_out = self._launch_and_wait(log, on_started)
            return _Exit(code, timed_out, started)

    def _ending(self, ended: _Exit | None) -> str:
        if ended is None:
            return "cancelled before it started"
        return "killed on request" if self._cancelled.is_set() else describe_exit(ended.code)

    def _ensure_environment(self) -> None:
        task = self.task
        environments = NodeEnvironments(
            UvRunner(Path(task.uv_cache_dir)), task.python, Path(task.lock_cache_dir)
        )
        shared = Path(task.shared_env_dir) if task.shared_env_dir else None
        environments.ensure_synced(task.folder.code, shared)

    def _context_file(self) -> Path:
        return self.task.folder.logs / CONTEXT_FILE

    def environment(self) -> dict[str, str]:
        task = self.task
        venv = task.folder.venv
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
        env.update(
            NODEPIPE_NODE_ID=task.node_id,
            NODEPIPE_NODE_DIR=task.node_dir,
            NODEPIPE_DATA_DIR=str(task.folder.path / ".staging" / task.node_run_id),
            NODEPIPE_REPORTS_DIR=str(task.folder.reports),
            NODEPIPE_RUN_ID=task.run_id,
            NODEPIPE_CONTEXT=str(self._context_file()),
            VIRTUAL_ENV=str(venv),
            PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            PYTHONPATH=os.pathsep.join(
                p for p in (task.runtime_dir, env.get("PYTHONPATH", "")) if p
            ),
        )
        return env

    def _launch_and_wait(
        self, log: BinaryIO, on_started: Callable[[int], None] | None
    ) -> tuple[int, bool]:
        task = self.task
        with self._lock:
            if self._cancelled.is_set():
                return -signal.SIGTERM, False
            self._process = subprocess.Popen(
                task.argv,
                cwd=task.folder.code,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if on_started is not None:
            on_started(self._process.pid)
        try:
            return self._process.wait(timeout=task.timeout), False
        except subprocess.TimeoutExpired:
            terminate_group(self._process.pid, self._process)
            return self._process.wait(), True
        except BaseException:  # interrupted (Ray cancellation, Ctrl-C): leave no orphan
            terminate_group(self._process.pid, self._process)
            discard(task.folder, task.node_run_id)
            raise

    def _finish(self, ended: _Exit) -> TaskOutcome:
        task = self.task
        code, started = ended.code, ended.started
        if code == 0 and not self._cancelled.is_set():
            promote(task.folder, task.node_run_id)
            digest = fingerprint_outputs(task.folder.data)  # fresh files: a cache cannot help
            return TaskOutcome(task.node_run_id, "completed", 0, "", digest, started)
        discard(task.folder, task.node_run_id)
        if self._cancelled.is_set():
            return TaskOutcome(task.node_run_id, "cancelled", code, "killed", None, started)
        if ended.timed_out:
            message = f"timed out after {task.timeout:g} s"
            return TaskOutcome(task.node_run_id, "timeout", code, message, None, started)
        return TaskOutcome(task.node_run_id, "failed", code, describe_exit(code), None, started)


@dataclass(frozen=True, slots=True)
class _Exit:
    """How the node's process ended, and when it had started."""

    code: int
    timed_out: bool
    started: datetime


def _held(
    slots: ProcessSlots | None, cancelled: threading.Event
) -> contextlib.AbstractContextManager[bool]:
    """A slot from ``slots`` (see ``ProcessSlots.hold``), or go ahead at once without them."""
    return slots.hold(cancelled) if slots is not None else contextlib.nullcontext(True)


def write_if_changed(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text`` unless it already holds exactly that.

    The context of a node rarely changes between runs; not rewriting it spares the
    filesystem a file creation per node run.
    """
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == text:
            return
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def point_latest_log(task: NodeTask) -> None:
    """``logs/latest.log`` becomes a second name of this run's log file (replaced atomically).

    A hard link, not a symlink: it creates no new file, which is what costs on a busy
    filesystem, and ``tail -f`` on it follows the run all the same.
    """
    latest = task.folder.logs / "latest.log"
    temporary = task.folder.logs / f".latest-{task.node_run_id}"
    temporary.unlink(missing_ok=True)
    os.link(task.log_file, temporary)
    temporary.replace(latest)


def terminate_group(pid: int, process: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the process group led by ``pid``; SIGKILL it if still alive after the grace."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + KILL_GRACE_SECONDS
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=KILL_GRACE_SECONDS)
    while time.monotonic() < deadline and group_alive(pid):
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
