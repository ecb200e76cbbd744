"""Files that survive a power cut: written aside, flushed to disk, then renamed into place.

A rename publishes a file atomically against a *process* crash, but after a power cut the new
name may point at a file whose bytes never reached the disk. Where nodepipe promises
durability (outputs, parameters, pyproject and lock edits, nodepipe.toml, markers), the file
and then its directory are flushed (``fsync``) before the rename that publishes it, and the
directory again after the rename. Caches that can be rebuilt are written with
``durable=False``: atomic, not flushed. Many files at once (a run's outputs, a copied node
folder) are flushed with one ``sync_filesystem``.

A new file whose mode nodepipe sets itself (written aside, unpacked from an archive, copied
from storage) gets what ``open()`` would give it, ``new_file_mode``: 0o666 (0o777 for a
program) less the process's umask, so a user who works with ``umask 077`` keeps it private.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from nodepipe.workspace.crash_points import crash_point

__all__ = [
    "CUT_SHORT_AGE_S",
    "current_umask",
    "cut_short_saves",
    "fsync_dir",
    "fsync_file",
    "new_file_mode",
    "remove_cut_short_saves",
    "sync_filesystem",
    "write_aside",
    "write_atomic",
]

CUT_SHORT_AGE_S = 60.0
"""A save takes milliseconds: a temporary file older than this is one a kill left behind."""


def write_atomic(
    path: Path, content: str | bytes, *, mode: int | None = None, durable: bool = True
) -> None:
    """Replace ``path`` with ``content`` all at once; flushed to disk first when ``durable``.

    ``mode`` sets the new file's permission bits (default: those of the file it replaces, or
    what ``open()`` gives a new one: 0o666 less the umask), set before any byte is written.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    file_mode = _mode_for(path, mode)

    def write(temporary: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        with os.fdopen(os.open(temporary, flags, 0o600), "wb") as handle:
            os.fchmod(handle.fileno(), file_mode)
            handle.write(data)

    write_aside(path, write, durable=durable)


def write_aside(path: Path, write: Callable[[Path], None], *, durable: bool = True) -> None:
    """Replace ``path`` all at once with the file that ``write`` creates at the path it is given
    (beside ``path``); flushed to disk before and after the rename when ``durable``. If
    ``write`` fails, ``path`` is left as it was and nothing is left beside it."""
    temporary = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
    try:
        write(temporary)
        crash_point(f"aside-written{path.suffix}")  # e.g. aside-written.promoting
        if durable:
            fsync_file(temporary)
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    if durable:
        fsync_dir(path.parent)


def cut_short_saves(path: Path, older_than: float = CUT_SHORT_AGE_S) -> list[Path]:
    """The temporary files that killed saves of ``path`` left beside it (``write_aside`` names
    them ``.NAME.1a2b3c4d.tmp``): this user's, older than ``older_than`` seconds (a save still
    writing is younger), regular files only."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{8}}\.tmp")
    oldest = time.time() - older_than
    found = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            written = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        ours = entry.is_file(follow_symlinks=False) and written.st_uid == os.getuid()
        if ours and written.st_mtime < oldest:
            found.append(Path(entry.path))
    return sorted(found)


def remove_cut_short_saves(path: Path, older_than: float = CUT_SHORT_AGE_S) -> None:
    """Remove what killed saves of ``path`` left beside it (see ``cut_short_saves``)."""
    for leftover in cut_short_saves(path, older_than):
        with contextlib.suppress(OSError):
            leftover.unlink()


def fsync_dir(directory: Path) -> None:
    """Flush a directory's entries (names created, renamed or removed in it) to disk."""
    _fsync(directory, os.O_DIRECTORY)


def fsync_file(path: Path) -> None:
    """Flush one file's bytes to disk."""
    _fsync(path, os.O_NOFOLLOW)


def _fsync(path: Path, flags: int) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC | flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_filesystem(path: Path) -> None:
    """Flush everything written to the filesystem that holds ``path`` (``syncfs``): one call
    for the outputs, intents and renames of many node runs at once, where an fsync per file
    and folder would cost a disk round trip each."""
    import ctypes  # only here: most commands never need it

    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _syncfs()(descriptor) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(path))
    finally:
        os.close(descriptor)


@functools.cache
def _syncfs() -> Callable[[int], int]:
    """The C library's ``syncfs``, looked up once per process (a run flushes per batch)."""
    import ctypes

    function: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    return function


def _mode_for(path: Path, mode: int | None) -> int:
    if mode is not None:
        return mode
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return new_file_mode()


def current_umask() -> int:
    """This process's umask, read without changing it (``/proc/self/status``, Linux 4.7+),
    else set and put back at once."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def new_file_mode(*, executable: bool = False) -> int:
    """The mode ``open()`` would give a new file (with ``executable``: a new program)."""
    return (0o777 if executable else 0o666) & ~current_umask()
