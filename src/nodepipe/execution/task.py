"""One node run, where it executes: stage, check the environment, record what it runs with,
launch, log, swap outputs.

The same ``NodeProcess`` runs under every executor (the local executor's threads, a Ray
worker): it needs only the shared filesystem and a picklable ``NodeTask``. It never touches
the store; the runner records what it reports.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from nodepipe.domain.environments import CONDA_PREFIX, RunEnvironment
from nodepipe.domain.errors import NodeLaunchError, NodepipeError, StorageError
from nodepipe.domain.runs import (
    CANCELLED_BEFORE_IT_STARTED,
    RunOutcome,
    TaskOutcome,
    describe_exit,
)
from nodepipe.envs.interpreters import interpreter_version
from nodepipe.envs.node_env import NodeEnvironments
from nodepipe.envs.uv import UvRunner
from nodepipe.execution.bytecode import (
    Checked,
    CompiledMarks,
    ToCompile,
    compile_checked,
    external_digests,
    to_compile,
)
from nodepipe.execution.log_tail import last_words
from nodepipe.execution.node_variables import NEVER, node_variables, withheld
from nodepipe.execution.process_groups import (
    KILL_GRACE_SECONDS,
    end_leftovers,
    group_alive,
    terminate_group,
)
from nodepipe.execution.run_files import CONTEXT_FILE, point_latest_log, write_if_changed
from nodepipe.execution.spawn import spawn, spawn_available
from nodepipe.execution.warm_start import WarmStartError, WarmStarts
from nodepipe.workspace.bundle_libs import read_links
from nodepipe.workspace.code_trees import CODE, Tree, scan
from nodepipe.workspace.crash_points import crash_point, pause_point
from nodepipe.workspace.external_code import external_code
from nodepipe.workspace.file_digests import fingerprint_outputs
from nodepipe.workspace.fingerprint import launch_fingerprint
from nodepipe.workspace.node_folder import NodeFolder
from nodepipe.workspace.objects import ObjectStore
from nodepipe.workspace.output_swap import (
    Promotion,
    discard,
    open_staging,
    promote,
    quick_to_settle,
    staging_dir,
)
from nodepipe.workspace.run_environment import known_digests, record_environment


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
    journal_dir: str
    pass_env: tuple[str, ...] = ()
    """Variables of the orchestrator's environment the node also gets (see node_variables)."""
    fingerprint: str = ""
    """What the outputs will have been made from; recorded with them when they are promoted."""
    timeout: float | None = None
    shared_env_dir: str | None = None
    interpreter: str | None = None
    """An existing interpreter the node runs with: it has no environment to sync."""
    import_dirs: tuple[str, ...] = ()
    """Folders on its PYTHONPATH: its code paths, and the bundle code it links (its libs)."""
    objects_dir: str = ""
    """The workspace's object store, where the run records what it starts with."""
    conda_cache_dir: str = ""
    """The workspace's conda package cache (for a node with a ``conda.lock``)."""
    environment_checked: bool = False
    """The run's preparer found the node's own environment synced from its lock, the lock in
    step with its pyproject and its conda prefix current, just before the task was made: the
    local executor does not ask again (a change after it is caught no more and no less than
    one after a second look)."""
    warm_start: bool = True
    """Whether the node's process may be forked from a warm interpreter (``warm_start``): the
    setting of the process that made the task, followed by every executor."""

    @property
    def folder(self) -> NodeFolder:
        return NodeFolder.at(self.node_dir)

    @property
    def log_file(self) -> Path:
        return self.folder.logs / f"{self.node_run_id}.log"


_LOST = 255
"""The exit code a node's process is given when how it ended is unknown (``lost``)."""

_SAY_COMPILING = 200
"""From this many modules to compile (a second or more), the node's log says so first, and
the run's live display shows how far compiling got (``PreparingCallback``)."""

COMPILING = "compiling external code"
"""The preparation step ``PreparingCallback`` names while modules are compiled."""

RECORDING = "recording outputs"
"""The step ``PreparingCallback`` names while large new outputs are hashed (in bytes)."""

PreparingCallback = Callable[[str, int, int, str], None]
"""Called with (step, done, total, unit) as a long step besides the node's process goes
(compiling thousands of modules of a checkout at its first launch, in ``files``; recording
gigabytes of new outputs, in ``bytes``)."""


class NodeProcess:
    """One ``NodeTask`` in steps: ``stage``, ``ensure_environment``, ``launch``, ``conclude``.

    An executor driving many node runs at once (the local one) calls the steps from different
    threads; ``run`` takes them all in turn (a Ray worker). ``request_cancel`` and ``cancel``
    may be called from any thread.
    """

    def __init__(
        self,
        task: NodeTask,
        base_environment: dict[str, str] | None = None,
        on_preparing: PreparingCallback | None = None,
        warm: WarmStarts | None = None,
    ) -> None:
        """``base_environment``: the variables every node process inherits (by default those
        of this process that ``node_variables`` lets through); ``on_preparing`` hears how a
        long preparation step goes; ``warm``: where the process may be forked warm."""
        self.task = task
        self._on_preparing = on_preparing
        self.folder = task.folder
        self.log_file = task.log_file
        self.pid: int | None = None
        self._popen: subprocess.Popen[bytes] | None = None  # only where spawn is unavailable
        self._warm = warm
        self._forked_warm = False
        self.lost = ""
        """Why the process's exit status is unknown (its warm interpreter ended first)."""
        self._exit_code: int | None = None
        self._base_environment = base_environment
        self._started_at: datetime | None = None
        self._log: BinaryIO | None = None
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._group_ended: threading.Event | None = None
        """Set once ``end_group`` has ended the node's group (None until a cancel or timeout
        asked it to)."""
        self.recorded: RunEnvironment | None = None
        """What the run starts with, once ``record_environment`` stored it."""
        self.left_running = ""
        """What the node's process left running when it ended, and what became of it (the
        message of a node that completed nonetheless; also in its log)."""
        self.refingerprinted = False
        """Whether ``record_environment`` found the node changed since the run was planned."""
        self._code_tree: Tree | None = None
        """``code/`` as last walked for this launch: the bytecode check, the launch
        fingerprint and the record take one walk (``_walked_code``)."""

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(
        self,
        on_started: Callable[[int], None] | None = None,
        on_reaped: Callable[[int, bool], None] | None = None,
    ) -> TaskOutcome:
        """Every step in this thread, waiting for the process (with the node's timeout);
        ``on_reaped`` hears its exit code and whether it timed out once it is reaped, before
        the run concludes."""
        try:
            self.stage()
            self.ensure_environment()
            self.record_environment()
            pid = self.launch(on_started)
        except NodepipeError as exc:
            return self.fail(exc)
        if pid is None:
            return self.conclude(None)
        try:
            timed_out = not self.reap_within(self.task.timeout)
            if timed_out:
                self.end_group()
            code = self.wait()
        except BaseException:  # interrupted (Ray cancellation, Ctrl-C): leave no orphan
            self.end_group()
            self.wait()
            self.fail(RuntimeError("interrupted"))
            raise
        if on_reaped is not None:
            on_reaped(code, timed_out)
        return self.conclude(code, timed_out)

    def request_cancel(self) -> None:
        """Mark the run cancelled at once: a node not started yet will not start."""
        self._cancelled.set()

    def cancel(self) -> None:
        """Stop the node's whole process group: SIGTERM, then SIGKILL after a grace period."""
        self.request_cancel()
        with self._lock:
            running = self.pid is not None and self._exit_code is None  # not once reaped
        if running:
            self.end_group()

    def end_group(self) -> None:
        """End the node's whole process group (SIGTERM, then SIGKILL after the grace period)
        once: a second caller (a timeout racing a cancel, a slot after its node's cancel)
        waits for the first to be done rather than send SIGTERM again."""
        with self._lock:
            ended, first = self._group_ended, self._group_ended is None
            if ended is None:
                ended = self._group_ended = threading.Event()
            pid, reaped = self.pid, self._exit_code is not None
        if not first:
            ended.wait(2 * KILL_GRACE_SECONDS + 1)
            return
        try:
            if pid is not None:
                terminate_group(pid, reaped=reaped)
        finally:
            ended.set()

    def stage(self) -> None:
        """The node's folders, a fresh staging folder, the context file, and the log opened."""
        task = self.task
        if not self.folder.reports.is_dir() or not self.folder.logs.is_dir():
            self.folder.make_output_dirs()
        open_staging(self.folder, task.node_run_id)
        write_if_changed(self._context_file(), json.dumps(task.context, indent=2))
        self._log = self.log_file.open("ab")
        self._log.write(f"# nodepipe: {' '.join(task.argv)}\n".encode())
        if task.pass_env and (kept_back := withheld(task.pass_env)):
            self._log.write(_withheld_line(kept_back).encode())
        self._log.flush()
        point_latest_log(self.log_file)
        crash_point("task.staged")

    def ensure_environment(self) -> None:
        """Sync the node's environment if its lock changed since the last sync, then give its
        modules bytecode checked by content (``execution.bytecode``)."""
        task = self.task
        if task.interpreter is None:
            shared = Path(task.shared_env_dir) if task.shared_env_dir else None
            self._environments().ensure_synced(self.folder.code, shared)
            self._code_tree = None  # a sync may have relocked: the lock is walked again
        python = self._python()
        if python is not None:
            pending = self._modules_to_compile(python)
            total = len(pending.modules)
            told = self._on_preparing if total >= _SAY_COMPILING else None
            if total >= _SAY_COMPILING and self._log is not None:
                self._log.write(
                    f"# nodepipe: compiling {total} modules to bytecode checked "
                    "by content (once per content of each folder)\n".encode()
                )
                self._log.flush()
            if told is not None:
                told(COMPILING, 0, total, "files")
                compile_checked(
                    python, pending.modules, lambda done: told(COMPILING, done, total, "files")
                )
            else:
                compile_checked(python, pending.modules)
            pending.mark(python, self._compiled_marks())

    def _python(self) -> str | None:
        """The Python the node's code runs with; None for a command of its own."""
        task = self.task
        python = task.argv[0] if task.argv else ""
        return python if python in (task.interpreter, str(self.folder.python)) else None

    def _modules_to_compile(self, python: str) -> ToCompile:
        code = self.folder.code
        named = {link.path: link.name for link in read_links(self.folder)}
        named.update((item.path, item.name) for item in external_code(code) if item.path.is_dir())
        folders = [*(Path(folder) for folder in self.task.import_dirs), *named]
        digests = external_digests(self.task.fingerprint) if folders else {}
        external = [Checked(folder, digests.get(named.get(folder, ""))) for folder in folders]
        # the entry script runs as __main__, compiled from its source: no .pyc of it is read
        entry = str(Path(self.task.argv[1])) if len(self.task.argv) > 1 else None
        return to_compile(
            python, code, external, self._compiled_marks(), self._walked_code(), entry
        )

    def _walked_code(self) -> Tree:
        """``code/`` walked as fingerprints walk it, once for the steps of one launch that
        follow one another (the environment checked, then recorded): what the record stores
        is what the bytecode check and the launch fingerprint saw."""
        if self._code_tree is None:
            self._code_tree = scan(self.folder.code, CODE)
        return self._code_tree

    def _compiled_marks(self) -> CompiledMarks:
        """Where the external folders compiled are remembered: beside the lock cache, in the
        workspace's own state folder (none for a task without one)."""
        cache = self.task.lock_cache_dir
        return CompiledMarks(Path(cache).parent / "compiled" if cache else None)

    def record_environment(self) -> None:
        """Store the code, lock, interpreter and platform the node is about to run with, read
        now that its environment is in step: its fingerprint too (``launch_fingerprint``), so
        that the outputs are kept with what really made them."""
        tree, self._code_tree = self._walked_code(), None  # the next launch walks again
        try:
            self._record_with(tree)
        except FileNotFoundError:
            # A file of that walk went away since (removed while the environment was synced
            # or compiled): what runs is what is there now, so walk again.
            try:
                self._record_with(scan(self.folder.code, CODE))
            except FileNotFoundError as exc:
                raise StorageError(f"could not record what the node runs with: {exc}") from exc

    def _record_with(self, tree: Tree) -> None:
        """``record_environment`` from the walk ``tree``; a file of it that is gone raises
        FileNotFoundError, any other failure StorageError."""
        try:
            fingerprint = launch_fingerprint(self.folder, self.task.fingerprint, tree)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StorageError(f"could not read what the node runs with: {exc}") from exc
        if fingerprint != self.task.fingerprint:
            self.task = replace(self.task, fingerprint=fingerprint)
            self.refingerprinted = True
        task = self.task
        if not task.objects_dir:
            return
        objects = ObjectStore(Path(task.objects_dir))
        launched = task.argv[0] if task.argv else None
        existing = interpreter_version(task.interpreter) if task.interpreter else None
        try:
            self.recorded = record_environment(
                self.folder.code, objects, known_digests(task.fingerprint), launched, existing, tree
            )
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StorageError(f"could not record what the node runs with: {exc}") from exc

    def quick_to_conclude(self) -> bool:
        """Whether concluding takes a moment only (small outputs to digest, move or drop, and
        no process the node left running to end first)."""
        return not self._left_running() and quick_to_settle(self.folder, self.task.node_run_id)

    def _left_running(self) -> bool:
        """Whether the node's group still has a member once its process was reaped, or a
        cancel or timeout is still ending it."""
        ended = self._group_ended
        if ended is not None:
            return not ended.is_set()
        return self.pid is not None and group_alive(self.pid)

    def environment_ready(self) -> bool:
        """Whether the node's own environment needs no sync and its modules no compiling: then
        preparing the run is quick."""
        task = self.task
        shared = Path(task.shared_env_dir) if task.shared_env_dir else None
        if (
            task.interpreter is None
            and not task.environment_checked
            and not self._environments().is_synced(self.folder.code, shared)
        ):
            return False
        python = self._python()
        return python is None or not self._modules_to_compile(python).modules

    def _environments(self) -> NodeEnvironments:
        task = self.task
        return _node_environments(
            task.uv_cache_dir,
            task.python,
            task.lock_cache_dir,
            task.journal_dir,
            task.conda_cache_dir or str(Path(task.uv_cache_dir).parent / "conda-pkgs"),
        )

    def launch(self, on_started: Callable[[int], None] | None = None) -> int | None:
        """Start the node's process in a session of its own: its pid, or None if cancelled."""
        assert self._log is not None, "stage() first"
        task = self.task
        with self._lock:
            if self._cancelled.is_set():
                return None
            try:
                self.pid = self._start()
            except OSError as exc:
                raise NodeLaunchError(f"cannot start {task.argv[0]}: {exc.strerror}") from exc
            self._started_at = datetime.now(UTC)
        crash_point("task.launched")
        pause_point("task.launched")
        if on_started is not None:
            on_started(self.pid)
        return self.pid

    def wait(self) -> int:
        """Reap the ended process: its exit code, or minus the signal that killed it."""
        assert self.pid is not None
        if self._exit_code is None:
            if self._popen is not None:
                self._exit_code = self._popen.wait()
            elif self._forked_warm:
                self._exit_code = self._wait_warm()
            else:
                self._exit_code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self._exit_code

    def _wait_warm(self) -> int:
        assert self._warm is not None and self.pid is not None
        self.exited_within(None)  # the warm interpreter waits no longer than it must
        try:
            return self._warm.wait(self.pid)
        except WarmStartError as exc:
            self.lost = str(exc)
            return _LOST

    def reap_within(self, seconds: float | None) -> bool:
        """Reap the process if it ends within ``seconds``; False if it still runs."""
        if not self.exited_within(seconds):
            return False
        self.wait()
        return True

    def exited_within(self, seconds: float | None) -> bool:
        """Wait up to ``seconds`` (None: for ever) for the process to end, without reaping it."""
        assert self.pid is not None
        if self._forked_warm:
            assert self._warm is not None
            return self._exit_code is not None or self._warm.exited_within(self.pid, seconds)
        pidfd = os.pidfd_open(self.pid)
        try:
            return bool(select.select([pidfd], [], [], seconds)[0])
        finally:
            os.close(pidfd)

    def _start(self) -> int:
        assert self._log is not None
        cwd, env = self.folder.code, self.environment()
        if self._warm is not None:
            pid = self._warm.start(self.task.argv, cwd, env, (self.log_file, self._log.fileno()))
            if pid is not None:
                self._forked_warm = True
                return pid
        if spawn_available():
            return spawn(self.task.argv, str(cwd), env, self._log.fileno())
        self._popen = subprocess.Popen(
            self.task.argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self._popen.pid

    def conclude(self, code: int | None, timed_out: bool = False) -> TaskOutcome:
        """The log's last line, then the outputs promoted or discarded; ``code`` is None when
        the process never started."""
        task = self.task
        started = self._started_at or datetime.now(UTC)
        if code is None:
            self._close_log(CANCELLED_BEFORE_IT_STARTED)
            discard(self.folder, task.node_run_id)
            return TaskOutcome.cancelled_before_it_started(task.node_run_id)
        self.end_leftovers()  # nothing the node started writes after promotion
        self._close_log("killed on request" if self.cancelled else describe_exit(code))
        if code == 0 and not self.cancelled:
            # fresh files: a cache cannot help; paths are relative, so staging hashes as data/
            digest = fingerprint_outputs(
                staging_dir(self.folder, task.node_run_id), told=self._recording()
            )
            crash_point("conclude.digested")
            promote(self.folder, Promotion(task.run_id, task.node_run_id, digest, task.fingerprint))
            crash_point("conclude.promoted")
            changed = task.fingerprint if self.refingerprinted else None
            return TaskOutcome(
                task.node_run_id,
                RunOutcome.COMPLETED,
                0,
                self.left_running,
                digest,
                started,
                fingerprint=changed,
            )
        discard(self.folder, task.node_run_id)
        if self.cancelled:
            status, message = RunOutcome.CANCELLED, "killed"
        elif timed_out:
            status, message = RunOutcome.TIMEOUT, f"timed out after {task.timeout:g} s"
        else:
            said = self.lost or last_words(self.log_file)
            status, message = RunOutcome.FAILED, describe_exit(code) + (f": {said}" if said else "")
        return TaskOutcome(task.node_run_id, status, code, message, None, started)

    def _recording(self) -> Callable[[int, int], None] | None:
        """What hears how recording large outputs goes (bytes done, total), if anyone."""
        told = self._on_preparing
        return None if told is None else lambda done, total: told(RECORDING, done, total, "bytes")

    def fail(self, error: BaseException) -> TaskOutcome:
        """nodepipe could not run the node: say why in its log, drop what it staged."""
        detail = getattr(error, "detail", "")
        said = f"\n--- what uv said:\n{detail}" if detail else ""
        if self._log is None:  # failed before its log was opened (or after it was closed)
            with contextlib.suppress(OSError):
                self._log = self.log_file.open("ab")
                point_latest_log(self.log_file)
        self._close_log(f"nodepipe could not run it: {error}{said}")
        message = str(error)
        try:
            discard(self.folder, self.task.node_run_id)
        except OSError as left:  # the node still fails; its next run clears the staging
            message += f" (and what it staged could not be removed: {left})"
        return TaskOutcome(self.task.node_run_id, RunOutcome.ERROR, None, message)

    def environment(self) -> dict[str, str]:
        task = self.task
        venv = str(self.folder.venv)
        base = self._base_environment
        env = dict(node_variables() if base is None else base)
        if task.pass_env:
            env.update(node_variables(extra=task.pass_env))
        path = env.get("PATH", "")
        if self.folder.venv.is_dir():  # not for a node run by an existing interpreter
            env["VIRTUAL_ENV"] = venv
            path = f"{venv}/bin{os.pathsep}{path}"
        prefix = self.folder.code / CONDA_PREFIX
        if prefix.is_dir():  # conda's tools first; Python is the uv environment's (argv)
            env["CONDA_PREFIX"] = str(prefix)
            path = f"{prefix}/bin{os.pathsep}{path}"
        env.update(
            NODEPIPE_NODE_ID=task.node_id,
            NODEPIPE_NODE_DIR=task.node_dir,
            NODEPIPE_DATA_DIR=str(staging_dir(self.folder, task.node_run_id)),
            NODEPIPE_REPORTS_DIR=str(self.folder.reports),
            NODEPIPE_RUN_ID=task.run_id,
            NODEPIPE_CONTEXT=str(self._context_file()),
            PATH=path,
            PYTHONPATH=os.pathsep.join(
                p for p in (task.runtime_dir, *task.import_dirs, env.get("PYTHONPATH", "")) if p
            ),
        )
        return env

    def _context_file(self) -> Path:
        return self.folder.logs / CONTEXT_FILE

    def end_leftovers(self) -> None:
        """Once its process was reaped: end what it left running in its group, or, if a cancel
        or timeout is ending the group, wait until it has (``conclude`` does this too, finding
        nothing the second time): nothing of the node runs on after its run."""
        if self._group_ended is None:
            self._end_leftovers()
        else:
            self.end_group()  # a second caller: waits for the first

    def _end_leftovers(self) -> None:
        """End what the node's process left running in its group, and say so in its log."""
        ended = None if self.pid is None else end_leftovers(self.pid)
        if ended is not None:
            running, left = ended
            self.left_running = (
                f"its process ended leaving {running} process(es) of its own running: "
                + (f"{left} could not be ended (not this user's)" if left else "they were ended")
            )
            self._note(self.left_running)

    def _note(self, line: str) -> None:
        """A line of nodepipe's in the node's log (none if the log cannot be written)."""
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.write(f"# nodepipe: {line}\n".encode())

    def _close_log(self, ending: str) -> None:
        """The log's last line; a log that cannot be written (a full disk) ends without it."""
        log, self._log = self._log, None
        if log is not None:
            with contextlib.suppress(OSError):
                log.write(f"# nodepipe: {ending}\n".encode())
            with contextlib.suppress(OSError):
                log.close()


def _withheld_line(names: list[str]) -> str:
    """The log's note that ``pass-env`` named variables a node never gets."""
    return (
        f"# nodepipe: not passed to the node although pass-env names {', '.join(names)}:"
        f" nodepipe never passes its own secrets ({', '.join(NEVER)}); give the node a"
        " variable of another name\n"
    )


@functools.lru_cache(maxsize=64)
def _node_environments(
    uv_cache_dir: str, python: str, lock_cache_dir: str, journal_dir: str, conda_cache_dir: str
) -> NodeEnvironments:
    return NodeEnvironments(
        UvRunner(Path(uv_cache_dir)),
        python,
        Path(lock_cache_dir),
        Path(journal_dir),
        Path(conda_cache_dir),
    )
