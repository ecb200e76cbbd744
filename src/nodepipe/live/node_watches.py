"""The folders of ``<workspace>/nodes`` the web app's watcher watches, and what an event in one
of them says: only what decides a node's check, so that what runs and syncs write makes no
event at all.

Watched: ``nodes/`` itself (node folders made, removed, renamed), each node folder (its
``code/`` and links file made, removed, renamed or written; not ``data/``, ``logs/``,
``reports/``, ``.staging/``), and every folder of each ``code/`` that a node's check walks
(``workspace.code_trees``: not environments, ``.venv.building-*`` ones included, nor caches,
nor ``.git``). A folder made or moved into a watched one is watched before its node is told
changed, so a check that starts after that sees every later edit told. A symbolic link is never
followed: a node reached through one is checked at every view anyway (``folder_memo``); but
``nodes/`` itself may be one (a folder on another disk): the folder it leads to is watched, and
``moved`` says once the link, or the workspace, leads to another folder than the one watched.
A folder reached by two paths (mounted at another place under ``nodes/`` too) has one watch,
which cannot tell both nodes: it counts as not watched (``unwatched``).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from nodepipe.live.inotify import (
    CONTENT,
    IN_CREATE,
    IN_IGNORED,
    IN_ISDIR,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    IN_UNMOUNT,
    NAMES,
    SELF,
    Event,
    Inotify,
)
from nodepipe.workspace.code_trees import is_excluded_path
from nodepipe.workspace.node_folder import LINKS_FILE

CODE_DIR = "code"
GONE = (errno.ENOENT, errno.ENOTDIR)
"""A folder removed before its watch was added (its removal is told), or a symbolic link."""


class _Folder(NamedTuple):
    path: Path
    node: str
    """The node it belongs to ("" for ``nodes/`` itself)."""
    depth: int
    """0: ``nodes/``; 1: a node folder; 2 and more: ``code/`` and its folders."""
    identity: tuple[int, int] | None = None
    """The device and inode found at ``path`` once it was watched."""


@dataclass
class Told:
    """What a batch of events says."""

    nodes: set[str] = field(default_factory=set)
    """Nodes whose check may have changed."""
    code: bool = False
    """Something under a ``code/`` or a links file changed (the page should reload)."""
    gone: bool = False
    """``nodes/`` itself was removed, moved or unmounted: nothing under it is watched now."""


class NodeWatches:
    """The watches of one inotify queue on ``nodes_dir`` (used from the watcher's thread only)."""

    def __init__(self, inotify: Inotify, nodes_dir: Path) -> None:
        self._inotify = inotify
        self.nodes_dir = nodes_dir
        self._folders: dict[int, _Folder] = {}
        self._of_node: dict[str, set[int]] = {}
        self.unwatched: list[OSError] = []
        """Folders that could not be watched (the user's watch limit, no permission): a change
        in them is not told."""
        self._identity: tuple[int, int] | None = None

    def watch_all(self) -> None:
        """Watch ``nodes/`` and what matters in every node folder (at start)."""
        self._identity = _identity(self.nodes_dir)  # taken first: a link changed meanwhile
        watched = self._identity is not None and self._add(_Folder(self.nodes_dir, "", 0))
        if not watched:  # (gone, or not a folder)
            if not self.unwatched:
                self.unwatched.append(OSError(errno.ENOENT, "not watched", str(self.nodes_dir)))
            return
        for entry in self._list(self.nodes_dir):
            if entry.is_dir(follow_symlinks=False):
                self._add_node(entry.name)

    def moved(self) -> bool:
        """Whether ``nodes_dir`` now leads to another folder than the one watched (a symbolic
        link changed, the workspace replaced), or to none: a change there is not told."""
        return self._identity is None or _identity(self.nodes_dir) != self._identity

    def tell(self, events: list[Event]) -> Told:
        """What ``events`` (of this queue's watches, in order) say; folders made or moved in are
        watched meanwhile."""
        told = Told()
        for event in events:
            folder = self._folders.get(event.watch)
            if folder is None:
                continue  # a watch forgotten (its folder moved away or removed)
            if event.mask & IN_IGNORED:
                self._drop(event.watch)
                continue
            if not event.name:
                self._tell_self(folder, event, told)
            elif folder.depth == 0:
                self._tell_node_entry(folder, event, told)
            elif folder.depth == 1:
                if event.name in (CODE_DIR, LINKS_FILE):
                    told.nodes.add(folder.node)
                    told.code = True
                    if event.name == CODE_DIR:
                        self._follow(folder, event, 2)
            elif not is_excluded_path(event.name):
                told.nodes.add(folder.node)
                told.code = True
                self._follow(folder, event, folder.depth + 1)
        return told

    def _tell_self(self, folder: _Folder, event: Event, told: Told) -> None:
        if folder.depth == 0:
            told.gone = told.gone or bool(event.mask & (SELF | IN_UNMOUNT))
        else:
            told.nodes.add(folder.node)

    def _tell_node_entry(self, folder: _Folder, event: Event, told: Told) -> None:
        told.nodes.add(event.name)
        if event.mask & IN_ISDIR:
            if event.mask & IN_MOVED_FROM:
                self._forget(folder.path / event.name, event.name)
            elif event.mask & (IN_CREATE | IN_MOVED_TO):
                self._add_node(event.name)

    def _follow(self, folder: _Folder, event: Event, depth: int) -> None:
        """Watch a folder made or moved into ``folder``; forget one moved out."""
        if not event.mask & IN_ISDIR:
            return
        path = folder.path / event.name
        if event.mask & IN_MOVED_FROM:
            self._forget(path, folder.node)
        elif event.mask & (IN_CREATE | IN_MOVED_TO):
            self._add_code(path, folder.node, depth)

    def _add_node(self, name: str) -> None:
        path = self.nodes_dir / name
        if self._add(_Folder(path, name, 1)):
            self._add_code(path / CODE_DIR, name, 2)

    def _add_code(self, top: Path, node: str, depth: int) -> None:
        """Watch ``top`` and its folders a check walks (watched before listed: a folder made
        meanwhile is either listed or told)."""
        pending = [(top, depth)]
        while pending:
            path, level = pending.pop()
            if not self._add(_Folder(path, node, level)):
                continue
            for entry in self._list(path):
                if entry.is_dir(follow_symlinks=False) and not is_excluded_path(entry.name):
                    pending.append((Path(entry.path), level + 1))

    def _add(self, folder: _Folder) -> bool:
        """Watch one folder; whether it is watched."""
        mask = NAMES | SELF if folder.depth == 0 else NAMES | CONTENT | SELF
        try:
            watch = self._inotify.add(folder.path, mask, follow=folder.depth == 0)
        except OSError as exc:
            if exc.errno not in GONE:
                self.unwatched.append(exc)
            return False
        known = self._folders.get(watch)  # a folder moved within nodes/ keeps its watch
        if known is not None and known.path != folder.path and _aliases(known.path, folder.path):
            self.unwatched.append(  # one watch cannot tell both nodes (a bind mount)
                OSError(errno.EEXIST, "watched already under another path", str(folder.path))
            )
            return False
        if known is not None:
            self._drop(watch)
        self._folders[watch] = _Folder(
            folder.path, folder.node, folder.depth, _identity(folder.path, folder.depth == 0)
        )
        self._of_node.setdefault(folder.node, set()).add(watch)
        return True

    def _list(self, path: Path) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(path) as entries:
                return list(entries)
        except OSError as exc:
            if exc.errno not in GONE:
                self.unwatched.append(exc)
            return []

    def _forget(self, top: Path, node: str) -> None:
        """Stop the watches of ``top`` and below, in ``node`` (moved away: their events would
        be told under a path they no longer have; moved within ``nodes/``, they are watched
        again), but not one of a folder that is at its path now: watched again meanwhile (two
        folders swapped in one step, ``RENAME_EXCHANGE``, are told as two moves, and the first
        one's folder is watched at the second one's path before that folder is told moved)."""
        for watch in list(self._of_node.get(node, ())):
            folder = self._folders[watch]
            below = folder.path == top or folder.path.is_relative_to(top)
            if below and not _still_there(folder):
                self._inotify.remove(watch)
                self._drop(watch)

    def _drop(self, watch: int) -> None:
        folder = self._folders.pop(watch)
        watches = self._of_node[folder.node]
        watches.discard(watch)
        if not watches:
            del self._of_node[folder.node]

    def __len__(self) -> int:
        return len(self._folders)


def _identity(folder: Path, follow: bool = True) -> tuple[int, int] | None:
    """The device and inode of the folder ``folder`` leads to (None: none)."""
    try:  # a str path: no Path object's stat (30,000 folders at 10,000 nodes)
        found = os.stat(str(folder), follow_symlinks=follow)  # noqa: PTH116
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _still_there(folder: _Folder) -> bool:
    """Whether the folder watched is at its path now."""
    return folder.identity is not None and folder.identity == _identity(
        folder.path, folder.depth == 0
    )


def _aliases(one: Path, other: Path) -> bool:
    """Whether two paths lead to the same folder (one mounted at the other too)."""
    found = _identity(one)
    return found is not None and found == _identity(other)
