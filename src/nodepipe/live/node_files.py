"""Edits in node folders reach the web app live: a user saving ``main.py`` in their editor sees
the node's card turn stale without reloading the page.

A thread watches ``<workspace>/nodes`` with watchfiles (inotify on Linux: nothing polls). A
change to what decides a node's outputs (files under a node's ``code/``: its code, parameters,
pyproject and lock) is published as one ``GraphChanged`` per batch of changes; the page then
reloads the pipeline, whose nodes carry their computed states. What runs and syncs write
(``data/``, ``logs/``, ``.venv``, bytecode caches) is ignored, so a run does not echo itself.
"""

from __future__ import annotations

import threading
from pathlib import Path

from watchfiles import Change, watch

from nodepipe.live.events import EventHub, GraphChanged

IGNORED_PARTS = frozenset({".venv", "__pycache__", ".ipynb_checkpoints", ".pytest_cache"})
ACTION = "node files changed"
DEBOUNCE_MS = 200
"""Changes within this many milliseconds are told as one (an editor writes a file in steps)."""


class NodeFileWatcher:
    """Publishes ``GraphChanged`` when files that decide a node's outputs change."""

    def __init__(self, nodes_dir: Path, hub: EventHub) -> None:
        self.nodes_dir = nodes_dir
        self.hub = hub
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nodepipe-files", daemon=True)

    def start(self) -> None:
        self.nodes_dir.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _loop(self) -> None:
        for changes in watch(
            self.nodes_dir,
            watch_filter=self._relevant,
            stop_event=self._stop,
            debounce=DEBOUNCE_MS,
            raise_interrupt=False,
        ):
            if changes:
                self.hub.publish(GraphChanged(ACTION))

    def _relevant(self, change: Change, path: str) -> bool:
        """Whether ``path`` is under a node's ``code/``, outside environments and caches."""
        try:
            parts = Path(path).relative_to(self.nodes_dir).parts
        except ValueError:
            return False
        if len(parts) < 3 or parts[1] != "code":
            return False
        return not any(p in IGNORED_PARTS or p.startswith(".venv.") for p in parts[2:])
