"""Looking at the workspace journal without taking anything over: which operations are in
flight (their process holds the lock), which were abandoned (their process died), what is
litter, and which node folders and paths a live operation names.

``journal.abandoned`` claims dead operations to recover them; this module only looks, for
``nodepipe doctor``'s report and for its repairs to leave alone whatever a live operation may
be using. An operation's lock is tried in shared mode and let go at once: its owner holds it
exclusively for as long as it lives.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodepipe.domain.ids import looks_like_id
from nodepipe.workspace.journal import INTENT_FILE, LOCK_SUFFIX, read_intent


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One operation of the journal as found on disk."""

    id: str
    kind: str
    intent: dict[str, Any]
    folder: Path
    alive: bool


@dataclass(frozen=True, slots=True)
class JournalState:
    operations: tuple[JournalEntry, ...]
    litter: tuple[Path, ...]
    """Entries of the journal folder that belong to no operation."""

    @property
    def live(self) -> tuple[JournalEntry, ...]:
        return tuple(entry for entry in self.operations if entry.alive)

    @property
    def abandoned(self) -> tuple[JournalEntry, ...]:
        return tuple(entry for entry in self.operations if not entry.alive)


@dataclass(frozen=True)
class Named:
    """The node ids and paths a set of operations names in their intents."""

    node_ids: frozenset[str] = frozenset()
    paths: tuple[Path, ...] = field(default=())

    def covers(self, path: Path, node_id: str | None = None) -> bool:
        """Whether ``path`` (of node ``node_id``) is, holds or lies in anything named."""
        if node_id is not None and node_id in self.node_ids:
            return True
        return any(
            path == named or path.is_relative_to(named) or named.is_relative_to(path)
            for named in self.paths
        )


def look(root: Path) -> JournalState:
    """The journal under ``root`` (``.nodepipe/staging``) as it is now; changes nothing."""
    try:
        names = sorted(entry.name for entry in root.iterdir())
    except FileNotFoundError:
        return JournalState((), ())
    ids = {name.removesuffix(LOCK_SUFFIX) for name in names if name.endswith(LOCK_SUFFIX)}
    operations = tuple(_entry(root, op_id) for op_id in sorted(ids))
    litter = tuple(
        root / name for name in names if not name.endswith(LOCK_SUFFIX) and name not in ids
    )
    return JournalState(operations, litter)


def named_by(entries: tuple[JournalEntry, ...]) -> Named:
    """Everything ``entries`` name: node ids, and absolute paths (with their scratch folders)."""
    strings = [text for entry in entries for text in _strings(entry.intent)]
    return Named(
        frozenset(text for text in strings if looks_like_id(text)),
        tuple(
            [Path(text) for text in strings if text.startswith("/")]
            + [entry.folder for entry in entries]
        ),
    )


def _entry(root: Path, op_id: str) -> JournalEntry:
    intent = read_intent(root / op_id / INTENT_FILE)
    kind = str(intent.pop("kind", ""))  # "": its process died before it wrote its intent
    return JournalEntry(op_id, kind, intent, root / op_id, _held(root / f"{op_id}{LOCK_SUFFIX}"))


def _held(lock: Path) -> bool:
    """Whether a live process holds this lock (a lock file that vanished is no one's)."""
    try:
        descriptor = os.open(lock, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # also lets go of a shared lock taken just now
    return False


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
