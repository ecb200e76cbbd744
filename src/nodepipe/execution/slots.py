"""How many node processes live at once on one machine: the slots the local executor hands out.

A node run holds a slot only while it checks its environment and its process lives. Everything
around that (staging folder, log file, promoting outputs) happens outside the slot, so a node
prepared ahead of time starts the moment another one's process ends. Waiting for a slot gives
way to cancellation.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class ProcessSlots:
    """``count`` slots; ``hold`` waits for one unless the node run is cancelled first."""

    def __init__(self, count: int) -> None:
        self._free = max(1, count)
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def hold(self, cancelled: threading.Event) -> Iterator[bool]:
        """Yields True holding a slot, or False (holding none) once ``cancelled`` is set."""
        with self._changed:
            self._changed.wait_for(lambda: self._free > 0 or cancelled.is_set())
            if cancelled.is_set():
                granted = False
            else:
                self._free -= 1
                granted = True
        try:
            yield granted
        finally:
            if granted:
                with self._changed:
                    self._free += 1
                    self._changed.notify_all()

    def wake(self) -> None:
        """Let every waiter look at its cancellation again."""
        with self._changed:
            self._changed.notify_all()
