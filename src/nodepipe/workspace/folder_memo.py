"""Node checks a long-lived process reuses while a watcher vouches that nothing changed.

Checking a node (its settings and fingerprint) stats every file of its folder: about 0.2 ms of
CPU a node, 2 s at 10,000 nodes for each view of the pipeline. The web app watches the node
folders (``live.node_files``); while that watcher runs, a node whose folder saw no change keeps
the settings and fingerprint of its last check, and a view rechecks only the nodes that changed.

What may be kept, and for how long:
- nothing until the watcher says it watches (``arm``), nothing once it stopped or failed
  (``disarm``): a change it could not see is never vouched for;
- only a check whose every file lies inside the node's ``code/`` (``inside``): a node with
  linked libs, external code (a shared checkout, a path package, a library node), a symbolic
  link (also ``code/``, the node's folder or its links file being one), a file with another
  hard link (``st_nlink > 1``, the links file's too: an edit through its other name is not
  told to a watch of ``nodes/``) or a snapshot clone is checked again at every view;
- only for the inputs it was computed with (``key``: the entry point and the parents' outputs
  by slot, read from the store at each view): a run or an edge change elsewhere shows at once;
- a check that started before a change of its node was told is not kept (the version it
  started at no longer matches);
- only in a view that first caught up with the watcher (``catch_up``: the watcher's fence, a
  file it creates and waits to see; inotify tells events in order, so every change written
  before the view began has then been told): an edit saved just before a request shows in
  its answer, not only after the watcher's debounce;
- nothing kept before the inotify queue overflowed (events were dropped: the watcher
  disarms and arms again), nor once a folder could not be watched (the user's watch limit);
- at most ``TRUST_SECONDS``: a hard link made after a node's check tells no watch of
  ``nodes/`` (its file's link count changes, not a folder), and an edit written through a
  memory map tells none either, so every node is checked again at least that often.
The store's own state (stored states, runs) is never kept here: each view reads it.

``generation`` counts what may change a check (arming, disarming, a node's change told), and
``vouched_until`` says until when every check of a view stays vouched for: the web app serves a
whole answer again on both (``live.pipeline_answers``). ``changed_since`` names the nodes told
changed since a generation and ``vouching`` which nodes are kept: the web app rebuilds an answer
only for what changed (``services.graph.view_updates``).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Collection, Hashable, Iterable
from typing import Any, NamedTuple

TRUST_SECONDS = 60.0
"""How long a kept check is trusted without a look at the files."""

TOLD_KEPT = 100_000
"""Changes told that ``changed_since`` remembers (older generations get None: check all)."""


class Ticket(NamedTuple):
    """When a check started: the memo's epoch and the node's version then."""

    epoch: int
    version: int


class _Kept(NamedTuple):
    """A value kept for ``key`` under ``ticket``, at a monotonic time."""

    ticket: Ticket
    key: Hashable
    value: Any
    at: float


class FolderMemo:
    """Checks of node folders, by node id, kept while a watcher vouches for them (thread-safe:
    the watcher's thread tells changes while request threads read and keep)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed = False
        self._epoch = 0
        self._versions: dict[str, int] = {}
        self._kept: dict[str, _Kept] = {}
        self._fence: Callable[[], bool] | None = None
        self._generation = 0
        self._told: list[tuple[int, str]] = []  # (generation, node id) of each change told
        self._since = 0  # changed_since answers for this generation and later ones

    @property
    def generation(self) -> int:
        """Changes with every arm, disarm and node change told (never with a fence alone)."""
        return self._generation

    @property
    def armed(self) -> bool:
        return self._armed

    def arm(self, fence: Callable[[], bool]) -> None:
        """The watcher watches: from now on every change under the node folders is told.
        ``fence`` returns once every change made before it was called has been told (False
        if the watcher could not say so in time)."""
        with self._lock:
            self._epoch += 1
            self._generation += 1
            self._forget_told()
            self._kept.clear()
            self._fence = fence
            self._armed = True

    def catch_up(self) -> bool:
        """Whether this view may use and keep checks: the watcher is armed and has told every
        change made so far."""
        fence = self._fence
        return self._armed and fence is not None and fence() and self._armed

    def disarm(self) -> None:
        """The watcher stopped or failed: keep nothing, trust nothing kept."""
        with self._lock:
            self._epoch += 1
            self._generation += 1
            self._forget_told()
            self._kept.clear()
            self._armed = False
            self._fence = None

    def changed(self, node_ids: Iterable[str]) -> None:
        """Something under these nodes' folders changed: their next view checks them again."""
        with self._lock:
            for node_id in node_ids:
                self._generation += 1
                self._versions[node_id] = self._versions.get(node_id, 0) + 1
                self._kept.pop(node_id, None)
                self._told.append((self._generation, node_id))
            if len(self._told) > TOLD_KEPT:
                dropped = len(self._told) - TOLD_KEPT // 2
                self._since = self._told[dropped - 1][0]
                del self._told[:dropped]

    def changed_since(self, generation: int) -> frozenset[str] | None:
        """The nodes told changed since ``generation`` (None: the watcher was armed or disarmed
        since, or that generation is too old to say: anything may have changed)."""
        with self._lock:
            if not self._armed or generation < self._since:
                return None
            start = bisect.bisect_right(self._told, generation, key=lambda told: told[0])
            return frozenset(node_id for _, node_id in self._told[start:])

    def _forget_told(self) -> None:
        self._told.clear()
        self._since = self._generation

    def ticket(self, node_id: str) -> Ticket | None:
        """Taken before checking ``node_id``; None when nothing may be kept."""
        with self._lock:
            if not self._armed:
                return None
            return Ticket(self._epoch, self._versions.get(node_id, 0))

    def get(self, node_id: str, key: Hashable) -> Any | None:
        """The kept check of ``node_id`` for ``key``, if it is still vouched for."""
        with self._lock:
            kept = self._kept.get(node_id)
            if kept is None or kept.key != key:
                return None
            ticket = kept.ticket  # compared field by field: this runs once a node a view
            if ticket.epoch != self._epoch or ticket.version != self._versions.get(node_id, 0):
                return None
            if time.monotonic() - kept.at > TRUST_SECONDS:
                del self._kept[node_id]
                return None
            return kept.value

    def vouched_until(self, node_ids: Collection[str], generation: int) -> float | None:
        """Until when (``time.monotonic()``) the kept checks of ``node_ids`` stay trusted, if
        each of them is kept and nothing changed since ``generation``; None otherwise."""
        vouched = self.vouching(node_ids, generation)
        return vouched[0] if vouched is not None and not vouched[1] else None

    def vouching(
        self, node_ids: Collection[str], generation: int
    ) -> tuple[float, frozenset[str]] | None:
        """Until when the kept checks among ``node_ids`` stay trusted, and the nodes whose
        check is not kept (each view checks them again), if nothing changed since
        ``generation``; None otherwise."""
        with self._lock:
            if not self._armed or generation != self._generation:
                return None
            oldest = time.monotonic()
            unkept = []
            for node_id in node_ids:
                kept = self._kept.get(node_id)
                if (
                    kept is None
                    or kept.ticket.epoch != self._epoch
                    or kept.ticket.version != self._versions.get(node_id, 0)
                ):
                    unkept.append(node_id)
                elif kept.at < oldest:
                    oldest = kept.at
            return oldest + TRUST_SECONDS, frozenset(unkept)

    def keep(self, node_id: str, ticket: Ticket | None, key: Hashable, value: Any) -> None:
        """Keep a check that started at ``ticket``, unless its node changed since."""
        if ticket is None:
            return
        with self._lock:
            if self._armed and ticket == self._current(node_id):
                self._kept[node_id] = _Kept(ticket, key, value, time.monotonic())

    def _current(self, node_id: str) -> Ticket:
        return Ticket(self._epoch, self._versions.get(node_id, 0))
