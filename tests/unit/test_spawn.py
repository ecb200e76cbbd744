"""A node process started by posix_spawn gets what subprocess would have given it."""

from __future__ import annotations

import os
import select
import signal
from pathlib import Path

import pytest

from nodepipe.execution.spawn import spawn, spawn_available

pytestmark = pytest.mark.skipif(not spawn_available(), reason="the C library lacks addchdir")

REPORT = """\
import os, sys
print("cwd", os.getcwd())
print("env", os.environ.get("MARK"))
print("session", os.getsid(0) == os.getpid())
print("stdin", os.readlink("/proc/self/fd/0"))
print("fds", sorted(int(f) for f in os.listdir("/proc/self/fd") if int(f) > 2))
print("to stderr", file=sys.stderr)
sys.exit(3)
"""


def wait_exit(pid: int) -> int:
    pidfd = os.pidfd_open(pid)
    try:
        select.select([pidfd], [], [], 30)
    finally:
        os.close(pidfd)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_the_child_runs_where_and_how_it_should(tmp_path: Path) -> None:
    script = tmp_path / "report.py"
    script.write_text(REPORT)
    workdir = tmp_path / "code"
    workdir.mkdir()
    leaked = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(leaked, True)  # an inheritable descriptor must not reach the child
    try:
        with (tmp_path / "log").open("wb") as log:
            env = {"PATH": os.environ["PATH"], "MARK": "here"}
            pid = spawn(["python3", str(script)], str(workdir), env, log.fileno())
            assert wait_exit(pid) == 3
    finally:
        os.close(leaked)
    lines = (tmp_path / "log").read_text().splitlines()
    assert f"cwd {workdir}" in lines
    assert "env here" in lines
    assert "session True" in lines
    assert "stdin /dev/null" in lines
    assert "to stderr" in lines
    fds = next(line for line in lines if line.startswith("fds "))
    assert str(leaked) not in fds.removeprefix("fds ").strip("[]").split(", ")


def test_signals_are_back_to_their_defaults(tmp_path: Path) -> None:
    """Python ignores SIGPIPE; a blocked signal stays blocked in threads: not in the child."""
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
    try:
        with (tmp_path / "status").open("wb") as out:
            pid = spawn(["cat", "/proc/self/status"], str(tmp_path), dict(os.environ), out.fileno())
            assert wait_exit(pid) == 0
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR2])
    status = dict(line.split(":\t", 1) for line in (tmp_path / "status").read_text().splitlines())
    glibc_internal = (1 << 31) | (1 << 32)  # signals 32 and 33: glibc sets them up itself
    assert int(status["SigIgn"], 16) & ~glibc_internal == 0  # SIGPIPE in particular
    assert int(status["SigBlk"], 16) == 0


def test_a_missing_program_or_folder_is_an_os_error(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"]}
    with pytest.raises(FileNotFoundError, match="no-such-program"):
        spawn(["no-such-program"], str(tmp_path), env, 1)
    with pytest.raises(OSError) as raised:
        spawn(["/bin/true"], str(tmp_path / "missing"), env, 1)
    assert raised.value.errno == 2
