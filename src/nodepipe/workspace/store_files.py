"""The files of an SQLite store (the database and its ``-wal``, ``-shm`` and ``-journal``
companions), moved aside together and never deleted.

A store that is replaced (``backup restore``) or given up as damaged (``doctor --rebuild``) is
renamed to ``store-<why>-<UTC time>.sqlite`` beside it, its companions with the same new name,
so that SQLite opens the pair as it was (the WAL may hold committed transactions).

``replace_store`` puts a new database in place of the store so that a kill at any instant leaves
a whole store in place, the old one or the new one, never no store and never a database without
the log that holds its last transactions.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from nodepipe.workspace.backups import free_name, timestamp
from nodepipe.workspace.crash_points import crash_point
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
    aside = _aside_name(store, why)
    for companion, suffix in zip(companions(store), COMPANIONS, strict=True):
        if companion.exists():
            companion.rename(aside.with_name(aside.name + suffix))
    store.rename(aside)
    fsync_dir(store.parent)
    return aside


def replace_store(store: Path, staged: Path, why: str) -> Path | None:
    """Rename ``staged`` (a whole database, flushed, beside ``store``) over ``store``, keeping
    the store it replaces as ``<stem>-<why>-<time><suffix>``; returns that name (None: there
    was no store). Nobody may have the store open.

    The old store's write-ahead log is first checkpointed into it, so that the database file is
    the whole store; that file is then hard-linked under its kept name (it stays in place), its
    emptied companions are removed, and ``staged`` takes its place in one rename. Killed at any
    step, the store is the old one, whole, or the new one. A store whose log cannot be
    checkpointed (a damaged one), or on a filesystem without hard links, is moved aside with
    its companions, then replaced: killed
    between those renames, there is no store, and the next command names the backups."""
    aside = _aside_name(store, why)
    if store.exists() and _log_checkpointed(store) and _linked(store, aside):
        fsync_dir(store.parent)
        crash_point("restore.kept-aside")
        for companion in companions(store):  # empty now: nothing of the store is lost
            with contextlib.suppress(FileNotFoundError):
                companion.unlink()
        crash_point("restore.log-removed")
        previous: Path | None = aside
    else:  # also where the filesystem has no hard links
        previous = move_store_aside(store, why)
        crash_point("restore.moved-aside")
    staged.replace(store)
    fsync_dir(store.parent)
    return previous


def _log_checkpointed(store: Path) -> bool:
    """Whether everything the store's write-ahead log held is now in the database file, the
    log emptied (a log a killed process left may hold committed transactions)."""
    try:
        connection = sqlite3.connect(f"file:{store}?mode=rw", uri=True, isolation_level=None)
        try:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return False
    wal, _, journal = companions(store)
    return busy == 0 and not journal.exists() and (not wal.exists() or wal.stat().st_size == 0)


def _linked(store: Path, aside: Path) -> bool:
    try:
        os.link(store, aside, follow_symlinks=False)
    except OSError:  # a filesystem without hard links
        return False
    return True


def _aside_name(store: Path, why: str) -> Path:
    stamp = timestamp(datetime.now(UTC))
    return free_name(store.parent, f"{store.stem}-{why}-{stamp}", store.suffix)
