"""The fork server in tests: off by default, on with ``NODEPIPE_FORK_SERVER=1``, never left over.

The suite runs the ``nodepipe`` program with the fork server off (``NODEPIPE_FORK_SERVER=0``)
unless the variable is set when pytest starts: ``NODEPIPE_FORK_SERVER=1 pytest tests/...``
runs every ``nodepipe`` the tests start through a server. Either way the servers started go
to a socket folder of the session's own (``XDG_RUNTIME_DIR``), and those still running at
the session's end are stopped by the pid in their lock file: no server outlives the tests.
Tests that run ``nodepipe`` with an environment of their own (no ``XDG_RUNTIME_DIR``) start
servers in the user's default folder: those of this installation (this interpreter) are
stopped too. A stopped server (SIGTERM) takes no new command but finishes those it runs, so
a session stopping them while another session of the same installation uses them breaks
nothing: that session's next command runs in its own process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from nodepipe.cli.fork_client import SWITCH_ENV


def default_folders() -> list[Path]:
    """The user's default socket folders (before the session changed ``XDG_RUNTIME_DIR``)."""
    folders = [Path(f"/tmp/nodepipe-{os.getuid()}")]
    if runtime := os.environ.get("XDG_RUNTIME_DIR"):
        folders.append(Path(runtime) / "nodepipe")
    return folders


def session_setup(root: Path) -> Path:
    """Give the session its own socket folder; the fork server stays off unless asked for."""
    os.environ.setdefault(SWITCH_ENV, "0")
    runtime = root / "runtime"
    runtime.mkdir(mode=0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    return runtime


def server_pids(folder: Path) -> list[int]:
    """The pids of the fork servers whose lock files are in the socket folder ``folder``."""
    pids = []
    for lock in folder.glob("fork-*.lock"):
        with contextlib.suppress(OSError, ValueError):
            pids.append(int(lock.read_text().split()[0]))
    return pids


def stop_servers(runtime: Path, defaults: list[Path]) -> None:
    """Stop (SIGTERM, then SIGKILL) every fork server of ``runtime`` still running, and this
    installation's in the ``defaults`` folders."""
    pids = [pid for pid in server_pids(runtime / "nodepipe") if _a_server(pid)]
    pids += [
        pid
        for folder in defaults
        for pid in server_pids(folder)
        if _a_server(pid) and _interpreter(pid) == os.fsencode(sys.executable)
    ]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not any(_alive(pid) for pid in pids):
            return
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _a_server(pid: int) -> bool:
    """Whether ``pid`` is alive and a fork server (or its worker) now: the pid in a lock file
    left by a server that died may belong to any process by now (pids wrap at 32,768 on these
    machines), another pytest worker of this session included, which a SIGTERM would end."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return _alive(pid) and b"nodepipe.cli.fork_server" in cmdline


def _interpreter(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (a server started by this process, ended, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False
