"""Named crash points for fault-injection tests: the process kills itself (SIGKILL) there.

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

CRASH_ENV = "NODEPIPE_CRASH_AT"


def _target(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    name, _, nth = value.partition("@")
    return name, int(nth) if nth.isdigit() else 1


_TARGET = _target(os.environ.get(CRASH_ENV))
_passes: dict[str, int] = {}
_lock = threading.Lock()


def crash_point(name: str) -> None:
    """Die here (SIGKILL) when the environment names this point; otherwise do nothing."""
    if _TARGET is None or _TARGET[0] != name:
        return
    with _lock:
        _passes[name] = _passes.get(name, 0) + 1
        if _passes[name] == _TARGET[1]:
            os.kill(os.getpid(), signal.SIGKILL)
