"""Collecting the workspace's object store (``.nodepipe/objects``): removing contents no run
record names any more.

``survey`` lists every content with its size and age; ``collect`` removes one, safely against a
run recording at the same moment: the content is renamed to ``.collecting.<sha256>`` (where
``ObjectStore`` still reads it), then its age is looked at again. A run that kept it again
meanwhile touched it (``ObjectStore._kept_again``), so it is renamed back; a run that comes
after the rename finds it absent and writes it again. Killed between the two steps, a
``.collecting.`` file is left; ``settle_leftovers`` (run first by every collection) renames it
back when its place is empty and removes it otherwise, so nothing a record names is lost.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nodepipe.domain.environments import is_sha256
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.objects import COLLECTING, forget_touches


@dataclass(frozen=True, slots=True)
class StoredContent:
    digest: str
    path: Path
    size: int
    modified: float
    """Its mtime: when it was written or last kept again."""


def survey(root: Path) -> Iterator[StoredContent]:
    """Every content under ``root`` (not the temporary files beside them)."""
    try:
        folders = sorted(root.iterdir())
    except FileNotFoundError:
        return
    for folder in folders:
        if len(folder.name) != 2 or not folder.is_dir() or folder.is_symlink():
            continue
        with os.scandir(folder) as entries:
            for entry in entries:
                if is_sha256(entry.name) and entry.is_file(follow_symlinks=False):
                    found = entry.stat(follow_symlinks=False)
                    yield StoredContent(entry.name, Path(entry.path), found.st_size, found.st_mtime)


def collect(content: StoredContent, older_than: float) -> bool:
    """Remove ``content`` unless it was kept again since ``older_than`` (a time); True when
    it was removed."""
    forget_touches()  # a run of this process keeps it again only by touching it
    aside = content.path.with_name(COLLECTING + content.digest)
    try:
        content.path.rename(aside)
    except FileNotFoundError:
        return False
    crash_point("objects.collecting")
    if aside.stat().st_mtime >= older_than:  # a run kept it again before it was moved
        aside.replace(content.path)
        return False
    aside.unlink()
    return True


def settle_leftovers(root: Path, older_than: float) -> int:
    """Put back each content a killed collection left aside (or drop it when its place holds
    it again), and remove temporary files of writers that died before ``older_than``; returns
    how many files were removed."""
    removed = 0
    for folder in (root, *(f for f in root.glob("??") if f.is_dir() and not f.is_symlink())):
        for path in _temporary_files(folder):
            name = path.name
            if name.startswith(COLLECTING):
                place = path.with_name(name.removeprefix(COLLECTING))
                if not place.exists():
                    with contextlib.suppress(FileNotFoundError):
                        path.rename(place)
                    continue
            elif path.lstat().st_mtime >= older_than:
                continue  # a writer may still be at it
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed


def _temporary_files(folder: Path) -> Iterator[Path]:
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith(".") and entry.is_file(follow_symlinks=False):
            yield Path(entry.path)
