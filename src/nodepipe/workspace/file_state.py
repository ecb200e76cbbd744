"""A file's state as nodepipe's stat-keyed caches see it: path, mtime, size and inode.

A cache keyed by it re-reads a file only when one of those changes; an edit that keeps all
four goes unseen, the trade-off git makes too.
"""

from __future__ import annotations

from pathlib import Path

FileState = tuple[str, int, int, int]


def file_state(path: Path) -> FileState:
    """The state of ``path`` (raises OSError when it cannot be looked at)."""
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)


def file_state_or_none(path: Path) -> FileState | None:
    """The state of ``path``, or None when it is missing or cannot be looked at."""
    try:
        return file_state(path)
    except OSError:
        return None
