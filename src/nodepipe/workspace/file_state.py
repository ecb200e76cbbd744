"""A file's state as nodepipe's stat-keyed caches see it: path, mtime, size, inode and ctime.

A cache keyed by it re-reads a file only when one of those changes. The ctime cannot be set
back (``os.utime`` sets it to now), so an edit of the same size whose mtime is put back shows
too; only a change the clock cannot tell apart goes unseen, the trade-off git makes too.
``latest_per_key`` is such a cache, sized to the workspace (one entry per file).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import ParamSpec, TypeVar

FileState = tuple[str, int, int, int, int]
P = ParamSpec("P")
R = TypeVar("R")


def file_state(path: Path) -> FileState:
    """The state of ``path`` (raises OSError when it cannot be looked at)."""
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_ctime_ns)


def file_state_or_none(path: Path) -> FileState | None:
    """The state of ``path``, or None when it is missing or cannot be looked at."""
    try:
        return file_state(path)
    except OSError:
        return None


def latest_per_key(
    which: Callable[P, Hashable],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Remember a function of file states with one entry per file (or node): ``which(*args)``
    names it, and the entry holds the value for the latest arguments seen for it.

    A new state of a file replaces its entry, so the cache holds as many entries as the
    workspace has files, whatever its size: an ``lru_cache`` of a fixed size thrashes once a
    pipeline has more nodes than it holds (every run re-parses every node), and an unbounded
    one keeps every past state. Thread-safe (one dict assignment per miss); exceptions are
    not remembered.
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        entries: dict[Hashable, tuple[tuple[object, ...], R]] = {}

        @functools.wraps(function)
        def remembered(*args: P.args, **kwargs: P.kwargs) -> R:
            key = which(*args, **kwargs)
            found = entries.get(key)
            if found is not None and found[0] == args and not kwargs:
                return found[1]
            value = function(*args, **kwargs)
            if not kwargs:
                entries[key] = (args, value)
            return value

        return remembered

    return decorate
