"""A file's state as nodepipe's stat-keyed caches see it: path, mtime, size, inode and ctime.

A cache keyed by it re-reads a file only when one of those changes. The ctime cannot be set
back (``os.utime`` sets it to now), so an edit of the same size whose mtime is put back shows
too; only a change the clock cannot tell apart goes unseen, the trade-off git makes too.
``latest_per_key`` is such a cache, sized to the workspace (one entry per file); ``real_path``
remembers where an interpreter's links lead, checked by the file's identity.
"""

from __future__ import annotations

import functools
import os
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


def stat_numbers(found: os.stat_result) -> list[int]:
    """What the caches kept in files compare of a ``stat``: size, mtime, ctime, inode, device
    and mode (a list: it is kept as JSON)."""
    return [
        found.st_size,
        found.st_mtime_ns,
        found.st_ctime_ns,
        found.st_ino,
        found.st_dev,
        found.st_mode,
    ]


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


_REAL_PATHS: dict[str, tuple[str, tuple[int, int]]] = {}
"""``real_path`` answers: a link's target -> (its real path, the (device, inode) found there)."""


def real_path(path: str) -> str:
    """``os.path.realpath(path)``, cheaper for a link to an absolute path (a node's
    ``.venv/bin/python``, leading to the interpreter it was made with): such a link resolves
    as its target does wherever it lies, and the target's real path is remembered, looked up
    again only once the file the target leads to is no longer the one at the remembered real
    path. A readlink and two ``stat`` calls, not an ``lstat`` per component of every link on
    the way. (A target moved to another name of the very same file, a hard link, keeps the
    name first found.) One entry per interpreter a workspace's environments were made from."""
    try:
        target = os.readlink(path)  # noqa: PTH115 (strings: no Path made per launch)
    except OSError:  # not a link, or not there
        return os.path.realpath(path)
    if not os.path.isabs(target):  # noqa: PTH117
        return os.path.realpath(path)
    found = _REAL_PATHS.get(target)
    try:
        here = os.stat(target)  # noqa: PTH116
        if found is not None:
            there = os.stat(found[0])  # noqa: PTH116
            if (here.st_dev, here.st_ino) == found[1] == (there.st_dev, there.st_ino):
                return found[0]
    except OSError:
        return os.path.realpath(path)
    real = os.path.realpath(target)
    _REAL_PATHS[target] = (real, (here.st_dev, here.st_ino))
    return real
