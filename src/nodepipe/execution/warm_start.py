"""Node processes forked from a warm interpreter rather than started from nothing.

Starting Python costs each node process about 9 ms of CPU before the node's first line, most
of it the same for every node of a run. The local executor keeps, per run, a warm
interpreter (``nodepipe/runtime/warm/nodepipe_warm.py``) for each base interpreter and set
of shared variables its nodes use, and asks it to fork each node's process, which then
becomes the node's (its session, folder, streams, variables, ``sys.executable``,
``sys.argv``, ``sys.path``, ``site`` for its own environment, the script as ``__main__``).
Ray slot actors do the same on their workers.
A node costs about half the CPU, and nothing else changes: its outputs, log, exit status,
cancel and timeout work as for a process started from nothing (what a node can still tell
is listed in the warm interpreter's docstring and the README).

A node is forked warm only when it runs its own environment's Python on a script
(``python main.py``), that environment does not include the system's site-packages, no
``sitecustomize`` but nodepipe's runs as its Python starts (one on the PYTHONPATH would run
twice: in the warm interpreter and in the node), and a warm interpreter of its kind is
ready: the first node of a kind starts as always while its warm interpreter starts beside
it, so nothing ever waits for one. ``NODEPIPE_WARM_START=0`` in the environment of the
process that runs the pipeline turns this off (for the nodes it runs on Ray workers too: the
task carries the setting).

The forked process is the warm interpreter's child, not the run's: the run learns its pid
and waits on a pidfd as for its own children; the warm interpreter reaps it only when the
run asks (``reap``), so its pid is never given out again while the run may still signal it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import shutil
import signal
import stat
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from nodepipe.execution.spawn import spawn, spawn_available

SWITCH_ENV = "NODEPIPE_WARM_START"
"""``0``, ``false``, ``off`` or ``no`` (any case): every node process starts from nothing."""
_OFF = ("0", "false", "off", "no")

WARM_SCRIPT = Path(__file__).parent.parent / "runtime" / "warm" / "nodepipe_warm.py"

PER_NODE = frozenset(
    {
        "NODEPIPE_NODE_ID",
        "NODEPIPE_NODE_DIR",
        "NODEPIPE_DATA_DIR",
        "NODEPIPE_REPORTS_DIR",
        "NODEPIPE_CONTEXT",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "PATH",
    }
)
"""Variables that differ between the nodes of a run and that Python does not read as it
starts: set in each forked process. Every other variable is the same for the nodes one warm
interpreter forks (it is the environment the interpreter started with)."""

MAX_WARM = 4
"""Warm interpreters a run keeps at most (nodes of further kinds start from nothing)."""


def warm_start_wanted(environ: Mapping[str, str]) -> bool:
    """Whether ``NODEPIPE_WARM_START`` in ``environ`` leaves warm starts on (the default)."""
    return environ.get(SWITCH_ENV, "1").strip().lower() not in _OFF


def warm_start_possible() -> bool:
    """Whether this process can start warm interpreters (``posix_spawn`` as ``spawn`` uses it)."""
    return spawn_available()


class WarmStartError(OSError):
    """The warm interpreter could not fork, or ended before it said how a process ended."""


class WarmInterpreter:
    """One warm interpreter process and the two pipes to it."""

    def __init__(self, launcher: Path, environment: Mapping[str, str]) -> None:
        requests_read, self._requests = os.pipe2(os.O_CLOEXEC)
        answers, answers_write = os.pipe2(os.O_CLOEXEC)
        self._answers = answers
        self._pending = b""
        self._lock = threading.Lock()
        self.ready = False
        self.broken = False
        self.stopped = False
        null = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        try:
            self.pid = spawn(
                (str(launcher / "bin" / "python"), str(WARM_SCRIPT)),
                str(launcher),
                environment,
                answers_write,
                input_fd=requests_read,
                error_fd=null,
            )
        except OSError:
            for fd in (self._requests, answers):
                os.close(fd)
            raise
        finally:
            for fd in (requests_read, answers_write, null):
                os.close(fd)

    def is_ready(self) -> bool:
        """Whether it has started and waits (never waits itself)."""
        if self.ready or self.broken:
            return self.ready and not self.broken
        with self._lock:
            if not self.stopped and select.select([self._answers], [], [], 0)[0]:
                self.ready = self._line() == b"ready"
                self.broken = not self.ready
        return self.ready

    def fork(self, payload: bytes) -> int:
        """A forked child that becomes what ``payload`` describes: its pid."""
        with self._lock:
            self._check_running()
            self._send(b"F%d\n" % len(payload) + payload)
            return int(self._answer())

    def reap(self, pid: int) -> int:
        """Wait for the forked ``pid`` to end: its wait status."""
        with self._lock:
            self._check_running()
            self._send(b"R%d\n" % pid)
            return int(self._answer())

    def stop(self) -> None:
        """End it (its input closed) and reap it: what its children used counts as the run's.
        A request under way is answered first; none is sent after (its pipes' numbers may be
        another's by then)."""
        with self._lock:
            if self.stopped:
                return
            self.stopped = self.broken = True
            os.close(self._requests)
            os.close(self._answers)
        os.waitpid(self.pid, 0)

    def _check_running(self) -> None:
        if self.stopped:
            raise WarmStartError("the warm interpreter was stopped")

    def _send(self, data: bytes) -> None:
        try:
            os.write(self._requests, data)
        except OSError as exc:
            self.broken = True
            raise WarmStartError(f"the warm interpreter ended ({exc.strerror})") from exc

    def _answer(self) -> bytes:
        line = self._line()
        if line.startswith(b"E") or not line:
            self.broken = True
            said = line[1:].decode(errors="replace") or "it ended"
            raise WarmStartError(f"the warm interpreter could not do it: {said}")
        return line

    def _line(self) -> bytes:
        while b"\n" not in self._pending:
            chunk = os.read(self._answers, 4096)
            if not chunk:
                return b""
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line


class WarmStarts:
    """The warm interpreters of one run, by kind; ``start`` forks a node from one if it can."""

    def __init__(self, state_dir: Path, eager: bool = False) -> None:
        """``eager``: a kind's warm interpreter starts at its first node, not its second (a
        long-lived Ray slot sees the same kinds run after run)."""
        self._state_dir = state_dir
        self._eager = eager
        self._warm: dict[tuple[str, ...], WarmInterpreter | None] = {}
        self._seen: set[tuple[str, ...]] = set()
        """Kinds one node of which was launched: a warm interpreter starts at a kind's second
        node (a kind of one node would pay for one that forks nothing)."""
        self._forked: dict[int, tuple[WarmInterpreter, int]] = {}
        """Each running node forked here: its warm interpreter and a pidfd opened as it was
        forked (an orphan's pid, once init reaped it, may be another process's)."""
        self._lock = threading.Lock()

    def start(
        self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], log: tuple[Path, int]
    ) -> int | None:
        """The pid of the node's process forked warm, or None: start it from nothing."""
        kind = _kind(argv, cwd, env)
        if kind is None:
            return None
        key, launcher_home = kind
        warm = self._interpreter(key, launcher_home, env)
        if warm is None or not warm.is_ready():
            return None
        log_file, log_fd = log
        opened = os.fstat(log_fd)
        fields = [
            argv[0], str(cwd), str(log_file), str(opened.st_dev), str(opened.st_ino),
            str(len(argv) - 1), *argv[1:],
            *(f"{name}={value}" for name, value in env.items()),
        ]  # fmt: skip
        payload = b"\0".join(os.fsencode(field) for field in fields)
        with self._lock:  # not given way meanwhile (``_make_room``), and busy once forked
            if self._warm.get(key) is not warm:
                return None
            try:
                pid = warm.fork(payload)
            except WarmStartError:
                return None  # this node starts from nothing; so do the next of its kind
            try:
                self._forked[pid] = warm, os.pidfd_open(pid)
            except OSError:  # out of descriptors: it may not run unseen; started from nothing
                os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(WarmStartError):
                    warm.reap(pid)
                return None
        return pid

    def owns(self, pid: int) -> bool:
        return pid in self._forked

    def exited_within(self, pid: int, seconds: float | None) -> bool:
        """Wait up to ``seconds`` (None: for ever) for ``pid`` (forked here) to end."""
        with self._lock:
            pidfd = self._forked[pid][1]
        return bool(select.select([pidfd], [], [], seconds)[0])

    def wait(self, pid: int) -> int:
        """Once ``pid`` (forked here) ended: its exit code, or minus the signal that ended it."""
        with self._lock:
            warm, pidfd = self._forked.pop(pid)
        os.close(pidfd)
        try:
            return os.waitstatus_to_exitcode(warm.reap(pid))
        except WarmStartError as exc:
            raise WarmStartError(f"how the node's process ended is unknown: {exc}") from exc

    def stop(self) -> None:
        with self._lock:
            interpreters, self._warm = [w for w in self._warm.values() if w], {}
        for warm in interpreters:
            warm.stop()

    def _interpreter(
        self, key: tuple[str, ...], home: tuple[str, str], env: Mapping[str, str]
    ) -> WarmInterpreter | None:
        with self._lock:
            if key in self._warm:
                return self._warm[key]
            if key not in self._seen and not self._eager:
                self._seen.add(key)
                return None
            room, given_way = self._make_room()
            if not room:
                return None
            self._warm[key] = None  # one try per kind
        if given_way is not None:
            given_way.stop()
        try:
            launcher = _launcher(self._state_dir, *home)
            shared = {name: value for name, value in env.items() if name not in PER_NODE}
            warm = WarmInterpreter(launcher, shared)
        except OSError:
            return None
        with self._lock:
            self._warm[key] = warm
        return None  # this node starts from nothing while its warm interpreter starts

    def _make_room(self) -> tuple[bool, WarmInterpreter | None]:
        """Whether there is room for one more kind; at ``MAX_WARM``, the oldest kind with no
        node running gives way (a long-lived Ray slot sees a new kind each run): its warm
        interpreter is returned for the caller to stop, out of the lock."""
        if len(self._warm) < MAX_WARM:
            return True, None
        busy = {id(warm) for warm, _ in self._forked.values()}
        for key, warm in self._warm.items():
            if warm is None or id(warm) not in busy:
                del self._warm[key]
                return True, warm
        return False, None


def _kind(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str]
) -> tuple[tuple[str, ...], tuple[str, str]] | None:
    """What a warm interpreter for this launch must share with it, and the interpreter and
    environment it starts from; None if the launch is not one to fork warm."""
    if len(argv) < 2 or argv[1].startswith("-") or argv[0] != str(cwd / ".venv" / "bin" / "python"):
        return None
    try:
        config = (cwd / ".venv" / "pyvenv.cfg").read_text(encoding="utf-8")
        interpreter = os.path.realpath(argv[0], strict=True)
        script = (cwd / argv[1]).stat()
    except (OSError, UnicodeDecodeError):
        return None
    if not stat.S_ISREG(script.st_mode):  # a folder or zip application: Python runs it its way
        return None
    settings = dict(
        (name.strip(), value.strip())
        for name, sep, value in (line.partition("=") for line in config.splitlines())
        if sep
    )
    if settings.get("include-system-site-packages", "false").lower() == "true":
        return None
    home = settings.get("home", "")
    if not home:
        return None
    shared = sorted(f"{name}={value}" for name, value in env.items() if name not in PER_NODE)
    return (interpreter, home, *shared), (interpreter, home)


def _launcher(state_dir: Path, interpreter: str, home: str) -> Path:
    """An environment of no packages for ``interpreter``: what a warm interpreter starts
    from (made once per workspace and interpreter, whole or not at all)."""
    config = f"home = {home}\ninclude-system-site-packages = false\n"
    name = hashlib.sha256(f"{interpreter}\0{config}".encode()).hexdigest()[:16]
    folder = _private(state_dir / "warm") / name
    if _is_launcher(folder, interpreter, config):
        return folder
    making = folder.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}")
    _remove_abandoned(folder.parent, name)
    shutil.rmtree(making, ignore_errors=True)
    (making / "bin").mkdir(parents=True)
    (making / "bin" / "python").symlink_to(interpreter)
    (making / "pyvenv.cfg").write_text(config, encoding="utf-8")
    try:
        making.rename(folder)
    except OSError:  # made meanwhile by another run (or something else is there)
        shutil.rmtree(making, ignore_errors=True)
    if not _is_launcher(folder, interpreter, config):
        raise OSError(f"{folder} is not a warm interpreter's environment")
    return folder


def _remove_abandoned(warm_dir: Path, name: str) -> None:
    """Half-made environments named ``.<name>.<pid>.<thread>`` whose process is gone (killed
    while it made one): removed, so none stays for ever."""
    for entry in warm_dir.glob(f".{name}.*"):
        pid = entry.name.split(".")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(entry, ignore_errors=True)


def _private(folder: Path) -> Path:
    """``folder``, made 0700 when missing; refused (OSError) unless it is this user's own and
    no one else may write in it: what it holds is run as this user."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    seen = folder.lstat()
    if not stat.S_ISDIR(seen.st_mode) or seen.st_uid != os.geteuid() or seen.st_mode & 0o022:
        raise OSError(f"{folder} is not a folder of this user's that only this user can write")
    return folder


def _is_launcher(folder: Path, interpreter: str, config: str) -> bool:
    try:
        return (
            str((folder / "bin" / "python").readlink()) == interpreter
            and (folder / "pyvenv.cfg").read_text(encoding="utf-8") == config
        )
    except OSError:
        return False
