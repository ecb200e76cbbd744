"""A fork server's worker: takes over its client's process state and runs the ``nodepipe`` program.

Forked from the server (``cli.fork_server``), the worker becomes what the client's own
process would have been: the client's standard streams on 0/1/2 with fresh ``sys.std*``
objects (the encoding and errors Python would give them), the client's environment, current
folder, umask and command line, the interpreter's own signal handlers, a session of its own
(never the server's process group). It then runs ``cli.app.main`` with the program's ending
(``end_now``): an uncaught exception prints its traceback and ends with status 1, an
uncaught ``KeyboardInterrupt`` ends killed by SIGINT, as the interpreter would.
"""

from __future__ import annotations

import atexit
import io
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from nodepipe.cli.fork_client import SERVED
from nodepipe.cli.fork_request import Request, ending, read_request, receive_go

Handler = Any  # what signal.getsignal gives back (a function, SIG_DFL or SIG_IGN)
HANDSHAKE_SECONDS = 5.0
"""How long a worker waits for its request, then for the client's go-ahead."""


class _Client:
    """The worker's own end of its client's connection, and how the command ended."""

    connection = -1
    code = 1
    """The exit status, or minus the signal the worker is about to be killed by."""


def serve_client(
    connection: socket.socket,
    key: bytes,
    handlers: dict[signal.Signals, Handler],
    learned: int,
    stale: Callable[[], bool],
) -> NoReturn:
    """In a worker just forked by the server: read and check the client's request, tell the
    client this worker's pid (with a pidfd of it), and run the command only once the client
    said "go" (``G``): a client that gave up waiting runs the command itself, so this one
    never runs it too.
    ``stale`` tells whether the server's files changed (then the server is told to end)."""
    try:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGTERM, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)  # the server's handlers are not the worker's
        connection.settimeout(HANDSHAKE_SECONDS)
        request = read_request(connection, key)
        if request is None:
            _refuse(connection)
        if stale():  # nodepipe changed under the server: the client runs it and starts a new one
            connection.sendall(b"S")
            os.kill(os.getppid(), signal.SIGTERM)
            _refuse(connection)
        _tell_pid(connection)
        streams = receive_go(connection)
        if streams is None:
            _refuse(connection)  # the client went, or runs the command itself
        request.fds = streams
        connection.settimeout(None)
    except (OSError, ValueError, UnicodeError) as refused:
        log(f"refused a request: {refused!r}")
        _refuse(connection)
    command = next((word for word in request.argv[1:] if word in SERVED), "?")
    log(f"worker {os.getpid()}: {command}")
    _Client.connection = connection.fileno()
    become_client(request, handlers, [connection.fileno()], learned)


def _tell_pid(connection: socket.socket) -> None:
    """Send the client this worker's pid (``P``) with a pidfd of this process (``SCM_RIGHTS``),
    through which alone the client signals it. Opened here, by the live process itself, it
    can refer to no other: it is the very one, however long the client holds it."""
    pidfd = os.pidfd_open(os.getpid())
    try:
        carried = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, pidfd.to_bytes(4, sys.byteorder))]
        connection.sendmsg([b"P" + os.getpid().to_bytes(8, "big")], carried)
    finally:
        os.close(pidfd)


def _refuse(connection: socket.socket) -> NoReturn:
    """End without running anything; the connection ends for the server too (no answer)."""
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    os._exit(0)


def log(message: str) -> None:
    """A line in the server's log (the server's and its workers' standard error until then)."""
    os.write(2, f"{time.strftime('%Y-%m-%dT%H:%M:%S')} [{os.getpid()}] {message}\n".encode())


def become_client(
    request: Request, handlers: dict[signal.Signals, Handler], keep: Sequence[int], learned: int
) -> NoReturn:
    """In the forked worker: adopt the client's state and run the program; never returns.

    ``handlers`` are the signal handlers the server started with, ``keep`` the descriptors
    the worker keeps, and ``learned`` a pipe that gets the names of the modules the command
    imported (the server imports them for the next ones)."""
    try:
        before = set(sys.modules)
        _close_all_but([*request.fds, *keep, learned])
        os.setsid()  # a server that dies leaves its workers running: they tell their clients
        signal.set_wakeup_fd(-1)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        for ignored in request.ignored:
            signal.signal(ignored, signal.SIG_IGN)
        for target, fd in enumerate(request.fds):
            os.dup2(fd, target)
            os.close(fd)
        _adopt_streams()
        os.environb.clear()
        os.environb.update(item.partition(b"=")[::2] for item in request.environment)
        time.tzset()  # the time zone the client's TZ names
        os.chdir(request.cwd)
        _renew_import_time_values()
        os.umask(request.umask)
        sys.argv = request.argv
        atexit.register(_tell_modules, learned, before)
    except BaseException as failure:  # cannot be the client: say why, as the program would
        os.write(2, f"nodepipe: the fork server could not run the command: {failure}\n".encode())
        os._exit(1)
    _run_program()


def _renew_import_time_values() -> None:
    """What the modules the server imported read from the process at their import (audited:
    nothing of nodepipe's; rich's folder for tracebacks, logging's start time), read again."""
    rich = sys.modules.get("rich")
    if rich is not None and vars(rich).get("_IMPORT_CWD"):
        rich._IMPORT_CWD = os.path.abspath(os.getcwd())  # type: ignore[attr-defined]
    logging = sys.modules.get("logging")
    if logging is not None:
        logging._startTime = time.time()  # type: ignore[attr-defined]


def _close_all_but(keep: list[int]) -> None:
    kept = sorted({fd for fd in keep if fd > 2})
    low = 3
    for fd in [*kept, 1 << 20]:
        os.closerange(low, fd)
        low = fd + 1


def _adopt_streams() -> None:
    """Fresh text streams on 0/1/2 with the settings Python gives a process's own streams."""
    template: list[io.TextIOWrapper] = [sys.__stdin__, sys.__stdout__, sys.__stderr__]  # type: ignore[list-item]
    streams = []
    for fd, old in enumerate(template):
        terminal = os.isatty(fd)
        mode = "rb" if fd == 0 else "wb"
        buffer = open(fd, mode, closefd=False)  # noqa: SIM115 - the process's own stream
        streams.append(
            io.TextIOWrapper(
                buffer,
                encoding=old.encoding,
                errors=old.errors,
                line_buffering=fd == 2 or (fd == 1 and terminal),
                write_through=old.write_through,
            )
        )
    sys.stdin, sys.stdout, sys.stderr = streams
    for name, stream in zip(("__stdin__", "__stdout__", "__stderr__"), streams, strict=True):
        setattr(sys, name, stream)


def _tell_modules(learned: int, before: set[str]) -> None:
    """The server gets the names of the modules the command imported, and by them learns that
    the worker reached its end (never nothing: at least a line's end)."""
    names = "\n".join(sorted(set(sys.modules) - before)).encode()
    try:
        os.set_blocking(learned, False)
        os.write(learned, names[:60_000] + b"\n")
    except OSError:
        pass


def _run_program() -> NoReturn:
    from nodepipe.cli.app import end_now, main
    from nodepipe.services.gc_pause import one_command_process

    one_command_process()
    try:
        try:
            main()
        except SystemExit as ending:
            _Client.code = ending.code if isinstance(ending.code, int) else _Client.code
            _Client.code = 0 if ending.code is None else _Client.code
            end_now(ending, _tell_client)  # ends it unless a thread runs or the code is text
            raise
    except SystemExit as ending:
        code = ending.code
        if not isinstance(code, int):
            if code is not None:
                print(code, file=sys.stderr)
            code = 0 if code is None else 1
        _end(code)
    except KeyboardInterrupt:
        _end(0, killed_by=signal.SIGINT)
    except BaseException:
        import traceback

        traceback.print_exc()
        _end(1)
    _end(0)


def _end(code: int, killed_by: int | None = None) -> NoReturn:
    """What the interpreter does at its end: wait for threads, run exit handlers, flush."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    _Client.code = code if killed_by is None else -killed_by
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    _tell_client(_Client.code)
    if killed_by is not None:
        signal.signal(killed_by, signal.SIG_DFL)
        os.kill(os.getpid(), killed_by)
    os._exit(code)


def _tell_client(code: int) -> None:
    """Tell the client how the command ended, as the very last step before this process ends
    (its streams flushed, its files closed): the client ends at once, without waiting for
    this process's teardown and for the server to reap it. (The server tells it too once it
    has reaped the worker: what the client hears when the worker dies before it could say.)
    ``code``: the exit status, or minus the signal the worker is about to be killed by."""
    if _Client.connection < 0:
        return
    import resource

    _Client.code = code
    status = -code if code < 0 else (code & 0xFF) << 8
    mine, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    user = round((mine.ru_utime + children.ru_utime) * 1e6)
    system = round((mine.ru_stime + children.ru_stime) * 1e6)
    try:
        os.write(_Client.connection, ending(status, user, system))
    except OSError:
        pass
