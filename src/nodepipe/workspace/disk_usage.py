"""Disk used by folders of a workspace, each file counted once however many names it has.

Environments hard-link their packages from the workspace's uv cache, so adding up folder
sizes would count numpy once per node. A ``DiskUsage`` remembers every file (device, inode) it
has counted: measure the uv cache first, and the environments then show what they add to it.
Sizes are allocated blocks (what ``du`` shows), not apparent lengths.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path


class DiskUsage:
    """Bytes used under folders, every file and folder counted once across all calls."""

    def __init__(self) -> None:
        self._seen: set[tuple[int, int]] = set()
        self.files = 0
        """How many entries that are not folders were counted (files, links), empty ones too."""

    def measure(self, roots: Iterable[Path]) -> int:
        """Bytes under ``roots`` not counted before (symbolic links are not followed)."""
        return sum(self._walk(root) for root in roots)

    def measure_contents(self, folders: Iterable[Path]) -> int:
        """``measure`` of what ``folders`` hold, the folders themselves not counted (an empty
        folder holds 0 bytes, though its own entry takes a block)."""
        folders = list(folders)
        for folder in folders:
            try:
                info = folder.lstat()
            except OSError:
                continue
            self._seen.add((info.st_dev, info.st_ino))
        return self.measure(folders)

    def _walk(self, root: Path) -> int:
        try:
            top = root.lstat()
        except OSError:
            return 0
        total = self._count(top)
        pending = [str(root)] if stat.S_ISDIR(top.st_mode) else []
        while pending:
            try:
                with os.scandir(pending.pop()) as entries:
                    for entry in entries:
                        total += self._count(entry.stat(follow_symlinks=False))
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
            except OSError:  # vanished or unreadable meanwhile: counted as far as seen
                continue
        return total

    def _count(self, info: os.stat_result) -> int:
        key = (info.st_dev, info.st_ino)
        if key in self._seen:
            return 0
        self._seen.add(key)
        if not stat.S_ISDIR(info.st_mode):
            self.files += 1
        return info.st_blocks * 512


def disk_used(path: Path) -> int:
    """Bytes under ``path``, each file once."""
    return DiskUsage().measure([path])
