"""Ending a node's whole process group, and how a process's end is told to a person."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable

KILL_GRACE_SECONDS = 5.0


def terminate_group(pid: int, reap_leader: Callable[[float], object] | None = None) -> None:
    """SIGTERM the process group led by ``pid``; SIGKILL it if still alive after the grace.

    A leader that has ended stays in its group until its parent reaps it: a caller that is
    that parent passes ``reap_leader`` (wait up to so many seconds, reaping it if it ends).
    """
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + KILL_GRACE_SECONDS
    if reap_leader is not None:
        reap_leader(KILL_GRACE_SECONDS)
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


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"
