"""Named crash points for fault-injection tests: the process kills itself (SIGKILL) there.
(And pause points, ``pause_point``: the process sleeps there, to widen a race's window.)

A test sets ``NODEPIPE_CRASH_AT=NAME`` (or ``NAME@N``: at the N-th time the process passes it)
in the environment of a nodepipe command, which then dies at that point exactly as a power cut
or ``kill -9`` would kill it: no exception handler, no ``finally``, no flush. The suite in
``tests/faults`` uses them to check that the next command finds nothing lost and nothing
half-made. Without the variable (always, outside those tests) a crash point is one comparison.
"""

from __future__ import annotations

import os
import signal
import threading
import time

CRASH_ENV = "NODEPIPE_CRASH_AT"
PAUSE_ENV = "NODEPIPE_PAUSE_AT"


def _target(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    name, _, nth = value.partition("@")
    return name, int(nth) if nth.isdigit() else 1


_UNREAD = ("", 0)
_target_read: list[tuple[str, int] | None] = [_UNREAD]
"""The point named, read from the environment at the first crash point the process passes
(not at import: a process forked from one that imported this module, as the fork server's
workers are, reads its own environment)."""
_passes: dict[str, int] = {}
_lock = threading.Lock()


def crash_point(name: str) -> None:
    """Die here (SIGKILL) when the environment names this point; otherwise do nothing."""
    target = _target_read[0]
    if target is _UNREAD:
        target = _target_read[0] = _target(os.environ.get(CRASH_ENV))
    if target is None or target[0] != name:
        return
    with _lock:
        _passes[name] = _passes.get(name, 0) + 1
        if _passes[name] == target[1]:
            os.kill(os.getpid(), signal.SIGKILL)


_pause_read: list[dict[str, float]] = []
"""The pause points named and their seconds, read from the environment at the first one."""


def pause_point(name: str) -> None:
    """Sleep here when the environment names this point (``NODEPIPE_PAUSE_AT=NAME:SECONDS``,
    several separated by commas; read at the process's first pause point); otherwise do
    nothing. A test makes a race that load makes rare happen every time: a node's start
    reported late to its Ray driver, a kill that reaches a Ray task before its node starts."""
    if not _pause_read:
        named = (item.partition(":") for item in (os.environ.get(PAUSE_ENV) or "").split(","))
        _pause_read.append({point: float(seconds or 0) for point, _, seconds in named if point})
    seconds = _pause_read[0].get(name)
    if seconds is not None:
        time.sleep(seconds)
