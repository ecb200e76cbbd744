"""Outputs are never half-written: a run writes a staging folder that replaces data/ on success.

```
<node>/data/                   the last good outputs
<node>/.staging/<run>/         what the running node writes (NODEPIPE_DATA_DIR)
<node>/.staging/<run>.previous the old data/ for the instant of the swap
```
The swap is two renames on one filesystem. If a crash falls between them, ``repair`` puts the
previous outputs back, so data/ always holds one complete set of outputs.

When data/ is empty there is nothing to keep: the empty folder itself is moved to become the
staging folder, and moved back on success. Creating and deleting a folder per node run is what
costs most on a busy filesystem; two renames cost almost nothing. While such a run goes on,
data/ is absent, which means the same as empty; it is back (empty) if the run fails or after
``repair``.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from nodepipe.workspace.node_folder import NodeFolder

STAGING = ".staging"
PREVIOUS_SUFFIX = ".previous"


def staging_dir(folder: NodeFolder, node_run_id: str) -> Path:
    return _staging_root(folder) / node_run_id


@functools.lru_cache(maxsize=8192)
def _staging_root(folder: NodeFolder) -> Path:
    return folder.path / STAGING


def open_staging(folder: NodeFolder, node_run_id: str) -> Path:
    """A fresh, empty staging folder for one node run (the empty data/ moved, if it is empty)."""
    staging = staging_dir(folder, node_run_id)
    try:
        _make_staging(folder, staging)
    except FileNotFoundError:  # the node's first run: no .staging/ yet
        staging.parent.mkdir(parents=True, exist_ok=True)
        _make_staging(folder, staging)
    return staging


def _make_staging(folder: NodeFolder, staging: Path) -> None:
    if _is_empty(folder.data):
        try:
            folder.data.rename(staging)
            return
        except OSError:  # a non-empty leftover of this run id: replaced below
            pass
    try:
        staging.mkdir()
    except FileExistsError:
        shutil.rmtree(staging)
        staging.mkdir()


def promote(folder: NodeFolder, node_run_id: str) -> None:
    """Make the staging folder the node's data/ (the old outputs are removed afterwards)."""
    staging = staging_dir(folder, node_run_id)
    if not folder.data.exists():
        staging.rename(folder.data)
        return
    previous = staging.with_name(staging.name + PREVIOUS_SUFFIX)
    folder.data.rename(previous)
    staging.rename(folder.data)
    shutil.rmtree(previous, ignore_errors=True)


def discard(folder: NodeFolder, node_run_id: str) -> None:
    """Drop what a failed or killed run wrote; data/ stays as it was (or comes back empty)."""
    shutil.rmtree(staging_dir(folder, node_run_id), ignore_errors=True)
    folder.data.mkdir(exist_ok=True)


def repair(folder: NodeFolder) -> None:
    """After a crash: restore data/ from an interrupted swap and drop stale staging folders."""
    root = folder.path / STAGING
    if root.is_dir():
        for leftover in sorted(root.iterdir()):
            if leftover.name.endswith(PREVIOUS_SUFFIX) and not folder.data.exists():
                leftover.rename(folder.data)
            else:
                shutil.rmtree(leftover, ignore_errors=True)
    folder.data.mkdir(exist_ok=True)


def quick_to_settle(
    folder: NodeFolder, node_run_id: str, max_entries: int = 64, max_bytes: int = 1 << 20
) -> bool:
    """Whether promoting or discarding a run's outputs takes a moment only: few entries and
    little data in its staging folder (digested or removed), few entries in data/ (removed)."""
    staging = _Budget(max_entries, max_bytes)
    old = _Budget(max_entries, None)
    return staging.covers(staging_dir(folder, node_run_id)) and old.covers(folder.data)


class _Budget:
    """Entries and bytes a folder may hold, spent while walking it (stops once exceeded)."""

    def __init__(self, entries: int, size: int | None) -> None:
        self.entries, self.size = entries, size

    def covers(self, root: Path) -> bool:
        pending = [str(root)]
        while pending:
            try:
                with os.scandir(pending.pop()) as entries:
                    for entry in entries:
                        if not self._spend(entry, pending):
                            return False
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError:  # cannot look: not known to be quick
                return False
        return True

    def _spend(self, entry: os.DirEntry[str], pending: list[str]) -> bool:
        self.entries -= 1
        if entry.is_dir(follow_symlinks=False):
            pending.append(entry.path)
        elif self.size is not None and entry.is_file(follow_symlinks=False):
            self.size -= entry.stat(follow_symlinks=False).st_size
        return self.entries >= 0 and (self.size is None or self.size >= 0)


def _is_empty(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            return next(entries, None) is None
    except FileNotFoundError:
        return False
