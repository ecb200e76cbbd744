"""The fork server: a per-user process that has imported what ``run`` and ``status`` use, and
forks a worker (``cli.fork_worker``) for each command a client (``cli.fork_client``) sends.

It holds nothing else: no workspace, no store connection, no thread; it never runs a command
itself, so every worker starts from the state of a process that has only imported modules.
One server per installation key (a lock file beside the socket); it serves only its own user
(``SO_PEERCRED``; the socket folder is the user's, 0700); a request is bounded and anything
malformed closes the connection. Before each command (in the worker) it checks that the
files it imported, the interpreter and the folders on ``sys.path`` are unchanged: if one
changed (an edit, an upgrade) it refuses, the server ends, and the client runs the command
itself and starts a new server. The modules a command imported
that the server had not are imported after the command (the next one finds them). It ends
after ``NODEPIPE_FORK_SERVER_IDLE`` seconds (600) without a command, and within
``LOOK_EVERY`` seconds once its socket file is gone or replaced (no one can reach it).

The connection of a command stays open while its worker runs: when the client goes (killed,
even by SIGKILL) the server kills the worker at once (SIGKILL), as if it had been the killed
process. When the worker ends, the client gets its wait status and CPU time, and ends the
same way.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import importlib
import os
import resource  # noqa: F401 - os.wait4 imports it at first use: not then, out of fds
import select
import signal
import socket
import sys
import threading
import time

from nodepipe.cli.fork_client import (
    IDLE_ENV,
    IDLE_SECONDS,
    installation_key,
    key_name,
    pidfds_work,
    socket_folder,
)
from nodepipe.cli.fork_request import ending
from nodepipe.cli.fork_worker import log, serve_client

MAX_SERVERS = 4
"""Servers of one user at most; starting one more stops the least recently used."""
FORGOTTEN_SECONDS = 7 * 24 * 3600
"""A key no server has served for this long (its log's time) has its files removed when a
server starts: each installation, locale or sandbox has its own key, and an upgrade or a
removed virtual environment would otherwise leave its ``.lock`` and ``.log`` for ever."""
PRELOADED = ("nodepipe.cli.app", "nodepipe.cli.runs", "nodepipe.cli.walk_status", "ctypes")
_NOT_LEARNED = ("__main__", "ray", "nodepipe.execution.ray", "nodepipe.cli.fork_")
LOOK_EVERY = 5.0
"""Seconds between two looks at the socket file while idle: a server whose socket was removed
(its folder deleted, a cleaner of /tmp) or replaced can be reached by no one, and ends."""
"""Never imported by the server: Ray (0.65 s, ~100 MB, threads) and what imports it."""


class _Command:
    """A worker's connection (None once its client went) and its pipe of learned modules."""

    __slots__ = ("connection", "learned")

    def __init__(self, connection: socket.socket | None, learned: int) -> None:
        self.connection = connection
        self.learned = learned


class ForkServer:
    """The listening socket, the workers running, and the files whose change ends the server."""

    def __init__(self, listening: socket.socket, key: bytes, socket_path: bytes, lock: int) -> None:
        self.listening = listening
        self.key = key
        self.socket_path = socket_path
        self.socket_inode = os.lstat(socket_path).st_ino
        self.lock = lock
        self.handlers = {s: signal.getsignal(s) for s in signal.valid_signals() if _settable(s)}
        self.workers: dict[int, _Command] = {}
        self.stamps: dict[str, tuple[int, int]] = {}
        self.wakeup_read, wakeup_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wakeup_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        self.running = True

    def preload(self, names: list[str]) -> None:
        for name in names:
            if name not in sys.modules and not name.startswith(_NOT_LEARNED):
                try:
                    importlib.import_module(name)
                except Exception:
                    continue
        for module in list(sys.modules.values()):
            found = getattr(module, "__file__", None)
            if isinstance(found, str) and found not in self.stamps:
                self.stamps[found] = _stamp(found)
        for installed in (sys.executable, os.path.realpath(sys.executable), *sys.path):
            if installed and installed not in self.stamps:  # a folder: an install adds to it
                self.stamps[installed] = _stamp(installed)
        gc.collect()
        gc.freeze()  # the workers' collector never walks the imported modules
        if threading.active_count() != 1:  # an import started a thread: forking is unsafe
            log("a module started a thread; ending")
            self.stop()

    def stale(self) -> bool:
        return any(_stamp(path) != stamp for path, stamp in self.stamps.items())

    def loop(self, idle: float) -> None:
        """Serve until stopped or idle, then until the last worker has ended. Nothing here
        waits for one client: a connection is handed to a worker at once (it reads the
        request), and a client's end is seen without reading (``POLLRDHUP``)."""
        last = time.monotonic()
        while self.running or self.workers:
            poller = select.poll()
            poller.register(self.wakeup_read, select.POLLIN)
            if self.running:
                poller.register(self.listening, select.POLLIN)
            watched: dict[int, int] = {}
            for pid, command in self.workers.items():
                if command.connection is not None:
                    poller.register(command.connection, select.POLLRDHUP)
                    watched[command.connection.fileno()] = pid
            ready = dict(poller.poll(min(idle, LOOK_EVERY) * 1000))
            if self.wakeup_read in ready:
                _drain(self.wakeup_read)
            self._reap()
            for fd, pid in watched.items():
                gone = self.workers.get(pid)
                if fd in ready and gone is not None and gone.connection is not None:
                    gone.connection.close()  # reaped when it has died (never waited for here)
                    gone.connection = None
                    if not _readable(gone.learned):  # it told the client, then the client ended
                        _kill_command(pid)  # the client is gone: so is its command
                        log(f"worker {pid} killed: its client went")
            if self.running and self.listening.fileno() in ready:
                self._accept()
            if self.running and _inode(self.socket_path) != self.socket_inode:
                log("its socket was removed or replaced; ending")  # a cleaner of /tmp, a rm -r
                self.stop()
            if self.workers or ready:
                last = time.monotonic()
            elif self.running and time.monotonic() - last >= idle:
                self.stop()

    def stop(self) -> None:
        """Stop taking commands (the workers running go on), and remove the socket."""
        if self.running:
            self.running = False
            if _inode(self.socket_path) == self.socket_inode:
                os.unlink(self.socket_path)
            os.close(self.lock)  # a new server may start while these workers end

    def _accept(self) -> None:
        try:
            connection, _ = self.listening.accept()
        except BlockingIOError:
            return
        except OSError as failure:  # out of descriptors: the client waits 2 s, then runs it
            log(f"could not take a command: {failure!r}")
            time.sleep(0.1)  # the connection is still pending: do not spin on it
            return
        connection.setblocking(False)
        try:
            self._fork(connection)
        except OSError as failure:  # EMFILE, EAGAIN, ENOMEM: this command runs in its client
            log(f"could not serve a command: {failure!r}")
            _answer(connection, b"R")
            connection.close()

    def _fork(self, connection: socket.socket) -> None:
        """A worker for the connection: it reads and checks the request itself."""
        learned_read, learned_write = os.pipe2(os.O_CLOEXEC)
        try:
            pid = os.fork()
        except OSError:
            os.close(learned_read)
            os.close(learned_write)
            raise
        if pid == 0:
            serve_client(connection, self.key, self.handlers, learned_write, self.stale)
        os.close(learned_write)
        os.set_blocking(learned_read, False)
        self.workers[pid] = _Command(connection, learned_read)

    def _reap(self) -> None:
        while True:
            try:
                found, status, usage = os.wait4(-1, os.WNOHANG)  # a resource.struct_rusage
            except ChildProcessError:
                return
            if found == 0:
                return
            command = self.workers.pop(found, None)
            if command is not None:
                self._finish(command, status, usage)

    def _finish(self, command: _Command, status: int, usage: object) -> None:
        if command.connection is not None:
            user = round(getattr(usage, "ru_utime", 0.0) * 1e6)
            system = round(getattr(usage, "ru_stime", 0.0) * 1e6)
            _answer(command.connection, ending(status, user, system))
            command.connection.close()
        try:
            names = os.read(command.learned, 1 << 16).decode().split()
        except OSError:
            names = []
        os.close(command.learned)
        if names and self.running:
            log(f"importing {len(names)} modules the command imported")
            self.preload(names)


def serve() -> None:
    """The fork server's process (started by ``fork_client`` in the background)."""
    folder = socket_folder()
    if folder is None or not pidfds_work():  # never a worker signalled by a bare pid
        return
    key = installation_key()
    base = folder + b"/" + key_name(key)
    lock = os.open(base + b".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    if not _locked(lock):
        return  # another server of this key runs (or is starting)
    os.ftruncate(lock, 0)
    os.write(lock, b"%d\n" % os.getpid())
    logged = os.open(base + b".log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.dup2(logged, 2)
    os.close(logged)
    os.chdir(folder)
    os.umask(0o077)
    idle = float(os.environ.get(IDLE_ENV) or IDLE_SECONDS)
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = base + b".sock"
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listening.bind(path)
    server = ForkServer(listening, key, path, lock)
    server.preload(list(PRELOADED))
    listening.listen(64)
    listening.setblocking(False)
    log(f"serving {len(sys.modules)} modules on {os.fsdecode(path)}")
    _end_least_used_servers(folder, base + b".lock")
    server.loop(idle)
    log("ended")


def _end_least_used_servers(folder: bytes, own: bytes) -> None:
    """Beyond :data:`MAX_SERVERS` servers of the user (one per key: each locale, flag set,
    sandbox...), stop those whose last command is the oldest (their log's time); a stopped
    server takes no new command and finishes those it runs."""
    running: list[tuple[int, int]] = []
    for name in os.listdir(folder):
        lock = folder + b"/" + name
        if not (name.startswith(b"fork-") and name.endswith(b".lock")) or lock == own:
            continue
        try:
            fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody holds it: no server
            _forget_if_old(lock[: -len(b".lock")])  # removed while it is held, not after
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError:
            try:
                pid = int(os.read(fd, 32).split()[0])
                used = os.stat(lock[: -len(b".lock")] + b".log").st_mtime_ns
            except (OSError, ValueError, IndexError):
                continue
            running.append((used, pid))
        finally:
            os.close(fd)
    for _, pid in sorted(running)[: max(0, len(running) + 1 - MAX_SERVERS)]:
        log(f"stopping server {pid}: more than {MAX_SERVERS} servers of this user")
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def _forget_if_old(base: bytes) -> None:
    """Remove the files of a key no server holds whose log is older than
    :data:`FORGOTTEN_SECONDS` (its lock last: a server of that key starting meanwhile finds
    its lock gone with its socket, and a newer one takes over)."""
    try:
        if time.time() - os.stat(base + b".log").st_mtime < FORGOTTEN_SECONDS:
            return
    except FileNotFoundError:
        pass
    for suffix in (b".sock", b".log", b".lock"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(base + suffix)


def _locked(lock: int) -> bool:
    for _ in range(100):  # a stale server that refused a command may still be ending
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as busy:
            if busy.errno not in (errno.EAGAIN, errno.EACCES):
                return False
            time.sleep(0.02)
    return False


def _stamp(path: str) -> tuple[int, int]:
    try:
        found = os.stat(path)
    except OSError:
        return (-1, -1)
    return (found.st_mtime_ns, found.st_size)


def _inode(path: bytes) -> int:
    try:
        return os.lstat(path).st_ino
    except OSError:
        return -1


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _readable(fd: int) -> bool:
    """Whether the pipe has something to read: a worker's ``learned`` pipe has once the worker
    reached its end (``fork_worker._tell_modules``), just before it tells its client."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _kill_command(pid: int) -> None:
    """SIGKILL a worker and what it started in its group (as a kill of the client's group
    would have killed a command running in the client's own process)."""
    for kill in (os.kill, os.killpg):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _answer(connection: socket.socket, answer: bytes) -> None:
    """Send a short answer without waiting (a client that reads nothing loses it)."""
    try:
        connection.send(answer)
    except OSError:
        pass


def _settable(signum: int) -> bool:
    return signum not in (signal.SIGKILL, signal.SIGSTOP) and signal.getsignal(signum) is not None
