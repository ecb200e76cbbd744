"""The files of an SQLite store (the database and its ``-wal``, ``-shm`` and ``-journal``
companions), moved aside together and never deleted.

A store that is replaced (``backup restore``) or given up as damaged (``doctor --rebuild``) is
renamed to ``store-<why>-<UTC time>.sqlite`` beside it, its companions with the same new name,
so that SQLite opens the pair as it was (the WAL may hold committed transactions).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from nodepipe.workspace.backups import free_name, timestamp
from nodepipe.workspace.durable import fsync_dir

COMPANIONS = ("-wal", "-shm", "-journal")


def companions(store: Path) -> list[Path]:
    return [store.with_name(store.name + suffix) for suffix in COMPANIONS]


def move_store_aside(store: Path, why: str) -> Path | None:
    """Rename ``store`` and its companions to ``<stem>-<why>-<time><suffix>``; returns the new
    name of the database (None when there was no database file)."""
    if not store.exists():
        for leftover in companions(store):  # without their database they mean nothing
            if leftover.exists():
                leftover.rename(free_name(store.parent, f"{leftover.name}.orphan", ""))
        return None
    stamp = timestamp(datetime.now(UTC))
    aside = free_name(store.parent, f"{store.stem}-{why}-{stamp}", store.suffix)
    for companion, suffix in zip(companions(store), COMPANIONS, strict=True):
        if companion.exists():
            companion.rename(aside.with_name(aside.name + suffix))
    store.rename(aside)
    fsync_dir(store.parent)
    return aside
