"""Waiting in tests for something another process or thread does: one helper, ``wait_for``.

It polls a condition (on the test's side only: the product itself never polls) and, when the
time is up, fails saying what it waited for, so that a hang reads as a finding, not a timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.05


def wait_for(condition: Callable[[], T], what: str, timeout: float = 60.0) -> T:
    """Call ``condition`` until it returns something truthy, and return that.

    ``what`` completes "timed out after N s waiting for …" (e.g. "the node to start"). An
    exception from ``condition`` ends the wait at once (use it to fail fast, for instance when
    the process that should do the thing has died).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL_SECONDS)
