"""Node code that waits for the test: the node keeps running until the test opens its gate, so
what the page shows mid-run (running, queued, a live log, lanes) is checked without racing the
node's end, however slow a busy machine makes the page."""

from __future__ import annotations

from pathlib import Path

WAIT = """\
import pathlib
import time

while not pathlib.Path({gate!r}).exists():
    time.sleep(0.05)
"""


def gated(gate: Path, before: str = "", after: str = "") -> str:
    """A main.py that runs ``before``, waits until the file ``gate`` exists, then runs ``after``
    (the test opens the gate with ``gate.touch()``)."""
    return before + WAIT.format(gate=str(gate)) + after
