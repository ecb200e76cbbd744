"""What of a folder travels with a bundle, and copying it safely.

A bundle carries regular files and folders only: never a node's ``.venv``, caches, or
nodepipe's own working files (``.nodepipe*``). A symbolic link is followed only when it points
inside the bundle (its target is copied as a plain file or folder); one pointing outside is
refused, so a bundle can never make nodepipe read or copy a file elsewhere on the machine.
Sockets, pipes and devices are left out.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from nodepipe.bundles.errors import BundleError
from nodepipe.workspace.code_trees import EXCLUDED_DIRS, EXCLUDED_SUFFIXES

SKIPPED_PATTERNS = (
    *sorted(EXCLUDED_DIRS),
    ".venv.*",
    ".conda.*",
    ".nodepipe*",
    ".ruff_cache",
    ".DS_Store",
)
"""Names never copied into, or out of, a bundle (at any depth)."""


def is_skipped(name: str) -> bool:
    """Whether a file or folder named ``name`` stays behind."""
    return name.endswith(EXCLUDED_SUFFIXES) or any(
        fnmatch.fnmatchcase(name, pattern) for pattern in SKIPPED_PATTERNS
    )


def inside(root: Path, relative: str) -> Path:
    """``root / relative`` once links are resolved, if it stays inside ``root``; else refuse."""
    real_root = root.resolve()
    path = (real_root / relative).resolve()
    if path != real_root and not path.is_relative_to(real_root):
        raise BundleError(f"{relative!r} leads outside the bundle {root} (to {path})")
    return path


def local_files(root: Path, relative: str) -> Iterator[tuple[str, Path]]:
    """Each regular file under ``root/relative``: its path relative to ``relative`` (POSIX)
    and where it really is; sorted, skipped names left out, links checked."""
    real_root = root.resolve()
    start = inside(root, relative)
    if not start.is_dir():
        raise BundleError(f"the bundle {root} has no folder {relative!r}")
    yield from _walk(real_root, start, PurePosixPath(), frozenset({start}))


def _walk(
    real_root: Path, folder: Path, prefix: PurePosixPath, seen: frozenset[Path]
) -> Iterator[tuple[str, Path]]:
    with os.scandir(folder) as entries:
        names = sorted(entry.name for entry in entries)
    for name in names:
        if is_skipped(name):
            continue
        path = folder / name
        target = path.resolve() if path.is_symlink() else path
        if target != real_root and not target.is_relative_to(real_root):
            shown = prefix / name
            raise BundleError(f"{shown} is a link to {target}, outside the bundle; refused")
        mode = target.stat().st_mode if target.exists() else 0
        if stat.S_ISDIR(mode):
            if target in seen:
                raise BundleError(f"{prefix / name} is a link that loops back into its folder")
            yield from _walk(real_root, target, prefix / name, seen | {target})
        elif stat.S_ISREG(mode):
            yield str(prefix / name), target


def copy_local_tree(root: Path, relative: str, destination: Path) -> None:
    """Copy ``root/relative`` into the new folder ``destination``; nothing is left of it if the
    copy is refused or fails halfway."""
    if destination.exists() or destination.is_symlink():
        raise BundleError(f"cannot copy into {destination}: it already exists")
    files = list(local_files(root, relative))
    try:
        destination.mkdir(parents=True)
        for name, source in files:
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            shutil.copymode(source, target)
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        raise
