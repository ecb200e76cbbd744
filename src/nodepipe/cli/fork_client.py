"""The ``nodepipe`` program's first step: hand ``run`` and ``status`` to the fork server.

A ``nodepipe`` process pays ~0.2 s of CPU for the interpreter's start and its imports before
a command does anything. The fork server (``cli.fork_server``) is a per-user process that has
paid it once: for the commands it serves (:data:`SERVED`, which never prompt nor read the
terminal) this module connects to it over a unix socket and sends the command line, the
environment, the current folder, the umask and the standard streams (their file descriptors
themselves, ``SCM_RIGHTS``). The server forks a worker that takes them over and runs the
command exactly as this process would have; this one forwards the signals it gets to the
worker and ends as the worker ended (the same exit status, or killed by the same signal).

The worker is the server's child, not this process's: it may end and be reaped, and its pid
taken by another process, before this one hears of it. So the worker is signalled only
through the pidfd it sends with its pid (``SCM_RIGHTS``), which refers to that very process
(:func:`_follow`); without pidfds (``os.pidfd_open``, Linux 5.3) no server serves.

Where no server answers, the command runs here as always, and when it is done a server is
started in the background for the next commands (detached, ``posix_spawn``: nothing waited
for). Anything
unexpected (the socket folder not the user's own, a server of another user, a refusal, a
stream that cannot be sent) means: run here.

This module is imported before anything else and must stay small: the standard library's C
modules only (``_socket``, ``_signal``, ``posix``); ``-X importtime`` of the program checks it.
"""

from __future__ import annotations

import _socket
import os
import sys

TYPE_CHECKING = False  # not typing's: this module imports no more than it must
if TYPE_CHECKING:
    import signal as _signal
    from typing import NoReturn
else:
    import _signal  # signal's C half: ``signal`` itself imports enum

SERVED = frozenset({"run", "status"})
SWITCH_ENV = "NODEPIPE_FORK_SERVER"
"""``0``, ``false``, ``off`` or ``no`` (any case) turn the fork server off (every command runs
in its own process)."""
_OFF = ("0", "false", "off", "no")
IDLE_ENV = "NODEPIPE_FORK_SERVER_IDLE"
"""Seconds without a command after which the server ends (default :data:`IDLE_SECONDS`)."""
CPU_FILE_ENV = "NODEPIPE_FORK_CPU_FILE"
"""Where a served command appends its worker's CPU seconds ("user system"; for benchmarks)."""
IDLE_SECONDS = 600
PROTOCOL = b"nodepipe-fork-2"
MAX_REQUEST = 1 << 20
HANDSHAKE_SECONDS = 2.0
"""How long a command waits for the server's answer before it runs itself (a stopped or busy
server never holds a command: the worker runs nothing until this process said "go")."""
FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGWINCH)
_KEY_PREFIXES = (b"PYTHON", b"LANG", b"LC_")
_SERVER_ENV = ("PYTHON", "LANG", "LC_", "XDG_RUNTIME_DIR", "PATH", "HOME", IDLE_ENV)
"""The server's own environment: what its key and folder need, nothing of a command's."""
_PEERCRED = 17  # SO_PEERCRED on Linux: struct ucred {pid, uid, gid}
_SERVER_DIED = (
    b"nodepipe: the fork server ended while it ran this command (killed?); run it again"
    b" (NODEPIPE_FORK_SERVER=0 runs it in its own process)\n"
)
_MAX_FOLDER = 80
_STATUS_LINES = (
    b"Uid:", b"Gid:", b"Groups:", b"CapInh:", b"CapPrm:", b"CapEff:", b"CapBnd:", b"CapAmb:",
    b"NoNewPrivs:", b"Seccomp:", b"Seccomp_filters:", b"Cpus_allowed_list:", b"Mems_allowed_list:",
)  # fmt: skip
_NAMESPACES = (
    b"cgroup", b"ipc", b"mnt", b"net", b"pid", b"pid_for_children", b"time",
    b"time_for_children", b"user", b"uts",
)  # fmt: skip
_TOSTOP = 0o400  # termios.TOSTOP on Linux
_PIDFD_SIGNAL_PROCESS_GROUP = 4  # pidfd_send_signal's flag (Linux 6.9): the process's group


def console() -> None:
    """The ``nodepipe`` program: a served command goes to the fork server, any other runs here."""
    command = _served(sys.argv[1:])
    on = os.environ.get(SWITCH_ENV, "1").strip().lower() not in _OFF
    if command and on and not _traced():
        folder = socket_folder()
        try:
            key = installation_key()
        except OSError:  # no /proc: who this process is cannot be told to a server
            folder = None
        if folder is not None:
            answer = _ask_server(folder, key, command)
            if answer is None or answer == b"S":  # no server, or one that is out of date
                import atexit  # started once this command is done: it does not compete

                atexit.register(_start_server)
    from nodepipe.cli.app import console as in_process

    in_process()


def _traced() -> bool:
    """Whether a debugger or tracer follows this process (``strace -f`` would follow a
    server this command starts, and never sees a served command's work)."""
    try:
        fd = os.open(b"/proc/self/status", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return True
    try:
        status = os.read(fd, 1 << 16)
    finally:
        os.close(fd)
    return b"\nTracerPid:\t0\n" not in status


def _served(arguments: list[str]) -> str:
    """The command (the first argument after the root's options) if it is served, else ""."""
    rest = iter(arguments)
    for argument in rest:
        if argument in ("-w", "--workspace"):
            next(rest, None)
        elif argument == "--verbose" or argument.startswith(("--workspace=", "-w")):
            continue
        else:
            served = argument in SERVED and not _terminal_stops_background()
            return argument if served else ""
    return ""


def _terminal_stops_background() -> bool:
    """Whether a standard stream is a terminal that stops writers outside its foreground."""
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd):
                import termios

                if termios.tcgetattr(fd)[3] & _TOSTOP:
                    return True
        except OSError:
            return True
    return False


def socket_folder() -> bytes | None:
    """The user's own folder of fork-server sockets, made 0700 if missing; None if unsafe.

    ``$XDG_RUNTIME_DIR/nodepipe`` when that folder is the user's, else ``/tmp/nodepipe-<uid>``.
    A folder that is a link, not a folder, not the user's or open to others is never used.
    """
    uid = os.getuid()
    runtime = os.environb.get(b"XDG_RUNTIME_DIR", b"")
    if runtime.startswith(b"/") and _private(runtime, uid, 0o077):
        folder = runtime.rstrip(b"/") + b"/nodepipe"
    else:
        folder = b"/tmp/nodepipe-%d" % uid
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    short = len(folder) <= _MAX_FOLDER  # a socket's path holds at most 107 bytes
    return folder if short and _private(folder, uid, 0o777 ^ 0o700) else None


def _private(folder: bytes, uid: int, open_bits: int) -> bool:
    try:
        found = os.lstat(folder)
    except OSError:
        return False
    is_folder = found.st_mode & 0o170000 == 0o040000
    return is_folder and found.st_uid == uid and found.st_mode & open_bits == 0


def installation_key() -> bytes:
    """What a server must share with its clients: the interpreter, nodepipe's folder, its
    flags, the environment variables that change how Python starts (``PYTHON*``, ``LANG``,
    ``LC_*``) and the process's :func:`identity` (each sandbox has its own server)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parts = [PROTOCOL, os.fsencode(sys.executable), os.fsencode(package), b"%r" % (sys.flags,)]
    parts.append(identity(b"self"))
    parts += sorted(k + b"=" + v for k, v in os.environb.items() if k.startswith(_KEY_PREFIXES))
    return b"\0".join(parts)


def identity(pid: bytes) -> bytes:
    """What the kernel keeps per process that a served command would otherwise take from the
    server: namespaces, root folder, ids and groups, capabilities, no_new_privs, seccomp,
    CPU and memory affinity, cgroup, limits, nice, OOM score, LSM label (``/proc/<pid>``).

    Raises OSError when a part cannot be read (another process's, not ours to read)."""
    proc = b"/proc/" + pid
    parts = [os.readlink(proc + b"/ns/" + name) for name in _NAMESPACES if _exists(name)]
    root = os.stat(proc + b"/root")
    parts.append(b"root %d %d" % (root.st_dev, root.st_ino))
    status = _read(proc + b"/status").splitlines()
    parts += [line for line in status if line.startswith(_STATUS_LINES)]
    parts += [_read(proc + b"/cgroup"), _read(proc + b"/limits"), _read(proc + b"/oom_score_adj")]
    parts.append(b"nice " + _read(proc + b"/stat").rpartition(b")")[2].split()[16])
    try:
        parts.append(_read(proc + b"/attr/current"))
    except OSError:
        parts.append(b"no LSM label")
    return b"\n".join(parts)


def _exists(namespace: bytes) -> bool:
    return os.path.lexists(b"/proc/self/ns/" + namespace)  # what this kernel has


def _read(path: bytes) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = b""
        while chunk := os.read(fd, 1 << 16):
            data += chunk
        return data
    finally:
        os.close(fd)


def key_name(key: bytes) -> bytes:
    """The short name of a key's files in the socket folder (``fork-<hash>``)."""
    import zlib

    return b"fork-%08x%08x" % (zlib.crc32(key), zlib.adler32(key))


def _ask_server(folder: bytes, key: bytes, command: str) -> bytes | None:
    """Have the server run this command; never returns if it did. Returns the refusal
    (``R``: refused, ``S``: the server is out of date) or None when no server answered."""
    try:
        cwd = os.getcwdb()
        for fd in (0, 1, 2):  # a closed stream would become the socket itself
            os.fstat(fd)
        client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except OSError:
        return b"R"
    try:
        client.settimeout(HANDSHAKE_SECONDS)
        client.connect(folder + b"/" + key_name(key) + b".sock")
    except TimeoutError:
        client.close()
        return b"R"
    except OSError:
        client.close()
        return None
    try:
        if _peer_uid(client) != os.getuid():
            return b"R"
        umask = os.umask(0o077)
        os.umask(umask)
        ignored: list[int] = [s for s in FORWARDED if _signal.getsignal(s) == _signal.SIG_IGN]
        if command == "run" and _signal.SIGINT in ignored:  # a run handles SIGINT whatever
            ignored.remove(_signal.SIGINT)  # it inherited (a script's `nodepipe run &`)
        fields = [key.hex().encode(), cwd, b"%d" % umask, b",".join(b"%d" % s for s in ignored)]
        fields += [b"%d" % len(sys.argv)]
        fields += [os.fsencode(argument) for argument in sys.argv]
        fields += [k + b"=" + v for k, v in os.environb.items()]
        payload = b"\0".join(fields)
        if len(payload) > MAX_REQUEST - 8:
            return b"R"
        try:
            client.sendall(len(payload).to_bytes(8, "big") + payload)
        except OSError:  # the server answered before reading (out of date: "S") and closed
            pass
        answer, pidfd = _receive_answer(client)
        if answer[:1] != b"P" or pidfd < 0:  # a pid without its pidfd is never signalled
            client.close()
            return b"R" if answer[:1] == b"P" else answer[:1] or b"R"
        worker = int.from_bytes(answer[1:9], "big")
        fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
        # from here on the worker runs the command, this process does not:
        client.sendmsg([b"G"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        client.settimeout(None)
    except OSError:
        client.close()
        return b"R"
    _follow(client, worker, pidfd, ignored)


def _peer_uid(connection: _socket.socket) -> int:
    credentials = connection.getsockopt(_socket.SOL_SOCKET, _PEERCRED, 12)
    return int.from_bytes(credentials[4:8], sys.byteorder)


def _receive_answer(connection: _socket.socket) -> tuple[bytes, int]:
    """The server's answer (``P`` and the worker's pid, or a one-byte refusal) and the pidfd
    that comes with a ``P``: -1 unless exactly one descriptor came and it is a pidfd of the
    process of that pid (the others are closed)."""
    space = _socket.CMSG_SPACE(2 * 4)  # room for a second descriptor: it is seen, and closed
    answer, ancillary, flags, _ = connection.recvmsg(9, space, _socket.MSG_CMSG_CLOEXEC)
    fds = [
        int.from_bytes(found[i : i + 4], sys.byteorder)
        for level, kind, found in ancillary
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS
        for i in range(0, len(found) - len(found) % 4, 4)
    ]
    if answer:
        answer += _receive(connection, 9 - len(answer))
    pidfd = fds[0] if len(fds) == 1 and not flags & _socket.MSG_CTRUNC else -1
    if pidfd >= 0 and not (len(answer) == 9 and _pidfd_of(pidfd, answer[1:9])):
        pidfd = -1
    for fd in fds:
        if fd != pidfd:
            os.close(fd)
    return answer, pidfd


def _pidfd_of(fd: int, pid: bytes) -> bool:
    """Whether ``fd`` is a pidfd of the live process ``pid`` (8 bytes, big-endian)."""
    try:
        info = _read(b"/proc/self/fdinfo/%d" % fd)
    except OSError:
        return False
    return b"\nPid:\t%d\n" % int.from_bytes(pid, "big") in info


def pidfds_work() -> bool:
    """Whether this system has pidfds (Linux 5.3, Python's ``os.pidfd_open``): a client
    signals its worker only through one, so without them no server starts."""
    if not hasattr(os, "pidfd_open") or not hasattr(_signal, "pidfd_send_signal"):
        return False
    try:
        pidfd = os.pidfd_open(os.getpid())
    except OSError:  # ENOSYS: a kernel before 5.3
        return False
    try:  # a sandbox may allow opening one and refuse signalling through it (EPERM)
        _signal.pidfd_send_signal(pidfd, 0)
    except OSError:
        return False
    finally:
        os.close(pidfd)
    return True


def _receive(connection: _socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _follow(connection: _socket.socket, worker: int, pidfd: int, ignored: list[int]) -> NoReturn:
    """Forward signals to the worker until it ends, then end the same way (the signals this
    process ignores, as under ``nohup``, the worker ignores too).

    The worker (its pidfd) gets them, never a process that took its pid once it was reaped:
    a signal after the worker's end reaches nobody."""

    def forward(signum: int, _frame: object) -> None:
        # what a terminal sends reaches the worker's group (uv, git...), as it would here
        if signum != _signal.SIGTERM and _signal_group(pidfd, worker, signum):
            return
        try:
            _signal.pidfd_send_signal(pidfd, signum)
        except OSError:
            pass  # the worker has ended (ESRCH)

    def suspend(_signum: int, _frame: object) -> None:
        """Ctrl-Z: the worker stops with this process and goes on when it does (its group is
        in a session without a terminal, where SIGTSTP is discarded: SIGSTOP, then SIGCONT)."""
        forward(_signal.SIGSTOP, None)
        _signal.signal(_signal.SIGTSTP, _signal.SIG_DFL)
        os.kill(os.getpid(), _signal.SIGTSTP)  # stopped here until continued
        _signal.signal(_signal.SIGTSTP, suspend)
        forward(_signal.SIGCONT, None)

    for signum in FORWARDED:
        if signum not in ignored:
            _signal.signal(signum, forward)
    if _signal.getsignal(_signal.SIGTSTP) == _signal.SIG_DFL:
        _signal.signal(_signal.SIGTSTP, suspend)
    try:
        ending = _receive(connection, 17)
    except OSError:
        ending = b""
    if len(ending) < 17 or ending[:1] != b"X":  # the server died: the worker died with it
        os.write(2, _SERVER_DIED)
        os._exit(1)
    status = int.from_bytes(ending[1:5], "big")
    cpu = os.environ.get(CPU_FILE_ENV)
    if cpu:
        user, system = (int.from_bytes(ending[i : i + 6], "big") for i in (5, 11))
        with open(cpu, "a") as out:
            out.write(f"{user / 1e6} {system / 1e6}\n")
    if os.WIFSIGNALED(status):
        killer = os.WTERMSIG(status)
        if killer not in (_signal.SIGKILL, _signal.SIGSTOP):
            _signal.signal(killer, _signal.SIG_DFL)
            _signal.pthread_sigmask(_signal.SIG_UNBLOCK, [killer])
        os.kill(os.getpid(), killer)
        os._exit(128 + killer)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _signal_group(pidfd: int, worker: int, signum: int) -> bool:
    """Send ``signum`` to the process group the worker leads; False if it leads none (not
    yet, or no more). Through the pidfd (Linux 6.9): the group of that very process, with no
    window at all. On older kernels by the group's id, and only while the pidfd says the
    worker is not reaped (an unreaped leader's pid, so its group's id, is never reused): a
    reuse needs the worker reaped and its pid taken by a new group's leader in the few
    microseconds between the two calls."""
    try:
        _signal.pidfd_send_signal(pidfd, signum, None, _PIDFD_SIGNAL_PROCESS_GROUP)
        return True
    except ProcessLookupError:
        return False
    except OSError:  # EINVAL: a kernel before 6.9
        pass
    try:
        _signal.pidfd_send_signal(pidfd, 0)
        os.killpg(worker, signum)
    except OSError:
        return False
    return True


def _start_server() -> None:
    """Start a fork server in the background: its own session, its streams on /dev/null, an
    environment of its own (no secret of this command's: a store URL, a token). Not without
    pidfds (:func:`pidfds_work`): it would serve nothing."""
    if not pidfds_work():
        return
    script_dir = os.path.dirname(os.path.abspath(sys.argv[0]))
    code = (
        "import sys; sys.path[0] = sys.argv[1]; from nodepipe.cli.fork_server import serve; serve()"
    )
    try:
        os.posix_spawn(
            sys.executable,
            [sys.executable, "-c", code, script_dir],
            {k: v for k, v in os.environ.items() if k.startswith(_SERVER_ENV)},
            file_actions=[(os.POSIX_SPAWN_OPEN, fd, "/dev/null", os.O_RDWR, 0) for fd in (0, 1, 2)],
            setsid=True,
            setsigdef=FORWARDED,
            setsigmask=(),
        )
    except OSError:
        pass
