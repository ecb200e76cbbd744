"""Files that survive a power cut: written aside, flushed to disk, then renamed into place.

A rename publishes a file atomically against a *process* crash, but after a power cut the new
name may point at a file whose bytes never reached the disk. Where nodepipe promises
durability (outputs, parameters, pyproject and lock edits, nodepipe.toml, markers), the file
and then its directory are flushed (``fsync``) before the rename that publishes it, and the
directory again after the rename. Caches that can be rebuilt are written with
``durable=False``: atomic, not flushed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["fsync_dir", "fsync_file", "fsync_tree", "write_atomic"]


def write_atomic(
    path: Path, content: str | bytes, *, mode: int | None = None, durable: bool = True
) -> None:
    """Replace ``path`` with ``content`` all at once; flushed to disk first when ``durable``.

    ``mode`` sets the new file's permission bits (default: those of the file it replaces, or
    0o644 for a new one), set before any byte is written.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(descriptor, _mode_for(path, mode))
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    if durable:
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Flush a directory's entries (names created, renamed or removed in it) to disk."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_file(path: Path) -> None:
    """Flush one file's bytes to disk."""
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_tree(root: Path) -> None:
    """Flush every regular file and directory under ``root`` (symlinks are not followed)."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                fsync_file(path)
        fsync_dir(Path(folder))


def _mode_for(path: Path, mode: int | None) -> int:
    if mode is not None:
        return mode
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o644
