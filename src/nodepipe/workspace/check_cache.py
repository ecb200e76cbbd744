"""Node checks kept across processes: a no-change ``status`` or ``run`` only stats the files.

Checking a node (its ``[tool.nodepipe]`` settings and its fingerprint) parses its
``pyproject.toml``, ``params.yaml`` and ``uv.lock`` and hashes its code: about 0.3 ms of CPU a
node in a fresh process, 3 s at 10,000 nodes. This cache keeps, per node, the settings and the
fingerprint (without its parents' part, which the store gives at each check) of the last check,
with the state of everything that check read; a later process whose look at those finds them all
as they were uses the kept result instead of reading the files.

What an entry is keyed by, and when it is not trusted:
- every file of the node's ``code/`` by (size, mtime, ctime, inode, device, mode), every folder
  walked the same way (its mtime and ctime change when an entry is added, removed or renamed in
  it), and the node's ``links.toml`` as absent; ``ctime`` cannot be set back (``os.utime`` sets
  it to now), so an edit of the same size whose mtime is put back still shows;
- only checks that read nothing outside ``code/`` are kept (``fingerprint_and_scope``'s
  ``inside``): nodes with linked libs, external code (shared checkouts, ``--path`` packages,
  code paths, library nodes), a symbolic link in ``code/``, a file of ``code/`` with another
  hard link (``st_nlink > 1``: it may be edited through a name elsewhere) or a snapshot clone
  are checked in full every time;
- git's "racily clean" rule: a check is kept only when every file and folder it read was last
  changed (mtime and ctime) more than ``RACY_WINDOW_NS`` before the check began, so an edit in
  the same timestamp tick as the check (or just after it) is never hidden (the window, 2 s, is
  wider than any filesystem's timestamp granularity and the kernel's coarse clock);
- the file names the workspace root and the nodepipe code it was made with (the size and mtime
  of the modules that compute a check, ``CHECK_MODULES``: an upgrade, or an edit of the
  source, changes them); a file made for another is ignored.

A launch asks the same entries (``kept_check``): a node about to start whose files are all as
its kept check read them is not fingerprinted again in full (``fingerprint.launch_fingerprint``).

The file (one per OS user, ``.nodepipe/cache/node-checks-<uid>.json``), how it is read and
written safely and how an entry keeps its values: ``workspace.check_cache_file``.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from nodepipe.domain.staleness import NodeFingerprint, ParentOutput
from nodepipe.workspace.check_cache_file import (
    code_identity,
    config_list,
    config_of,
    fingerprint_list,
    kept_fingerprint,
    read_own,
    write_own,
)
from nodepipe.workspace.code_trees import Tree
from nodepipe.workspace.file_digests import RACY_WINDOW_NS
from nodepipe.workspace.file_state import stat_numbers
from nodepipe.workspace.node_config import NodeConfig
from nodepipe.workspace.node_folder import LINKS_FILE, NodeFolder

CACHE_FORMAT = 2
CACHE_DIR = "cache"
CHECK_MODULES = (
    "nodepipe.domain.environments",
    "nodepipe.domain.ids",
    "nodepipe.domain.params",
    "nodepipe.domain.staleness",
    "nodepipe.domain.yaml_limits",
    "nodepipe.workspace.bundle_libs",
    "nodepipe.workspace.check_cache",
    "nodepipe.workspace.check_cache_file",
    "nodepipe.workspace.code_trees",
    "nodepipe.workspace.conda_project",
    "nodepipe.workspace.external_code",
    "nodepipe.workspace.file_digests",
    "nodepipe.workspace.fingerprint",
    "nodepipe.workspace.git_revisions",
    "nodepipe.workspace.node_config",
    "nodepipe.workspace.node_folder",
    "nodepipe.workspace.self_links",
    "nodepipe.workspace.uv_lock",
)
"""The modules whose code decides what a check gives (all imported by then)."""

_Key = list[int]
_ABSENT: list[int] = []
_GONE = [-1] * 6
"""An absent path's key in an entry (no stat has a negative size)."""
_STRIDE = 7
"""An entry's states are one flat list, a path then its six numbers (``_key``), path after
path: a list per path parsed in about half the time of a list per path and one per key."""


def cache_file(state_dir: Path) -> Path:
    """This OS user's cache file of a workspace whose state folder is ``state_dir``."""
    return state_dir / CACHE_DIR / f"node-checks-{os.geteuid()}.json"


def _key(path: str) -> _Key:
    """The state of ``path`` an entry compares (followed, like the walk); ``[]`` when absent
    (a dangling link too: it reads as nothing)."""
    try:
        found = os.stat(path)  # noqa: PTH116 (a str path: no object a stat, 60,000 a status)
    except FileNotFoundError:
        return _ABSENT
    return stat_numbers(found)


_OPENED: dict[str, CheckCache] = {}
"""The check cache each workspace opened in this process has, by its nodes folder with a
trailing ``/`` (one per workspace: the newest opened), for ``kept_check``."""


def kept_check(folder: NodeFolder, parents: dict[str, ParentOutput]) -> NodeFingerprint | None:
    """The fingerprint of the node in ``folder`` with ``parents``, if the check cache this
    process opened for its workspace keeps a check of it and everything that check read is as
    it was (``CheckCache.get``: the same stats a ``status`` trusts); None otherwise (a node
    never kept, linked or with external code, a process that opened none: a Ray worker)."""
    nodes, _, node_id = str(folder.path).rpartition("/")
    cache = _OPENED.get(f"{nodes}/")
    found = cache.get(node_id, parents) if cache is not None else None
    return None if found is None else found[1]


class CheckCache:
    """The kept node checks of one workspace, loaded on first use, saved by ``save``.

    An entry is ``[states, config, fingerprint]``: each file and folder the check read (its
    path relative to the node folder, then its ``_key``, or ``_GONE`` when absent), one after
    the other in one list; its settings (an index into the file's table of distinct settings,
    or the settings themselves until saved) and its fingerprint (``fingerprint_list``, with the
    parents it was computed for)."""

    def __init__(self, file: Path, root: Path, nodes_dir: Path) -> None:
        self.file = file
        self._root = str(root)
        self._nodes = f"{nodes_dir}/"
        self._header: list[Any] = []
        self._entries: dict[str, list[Any]] | None = None
        self._configs: list[Any] = []
        self._decoded: dict[int, NodeConfig] = {}
        self._dirty = False
        self._lock = threading.Lock()
        _OPENED[self._nodes] = self

    def _loaded(self) -> dict[str, list[Any]]:
        if self._entries is None:
            self._header = [CACHE_FORMAT, self._root, code_identity(CHECK_MODULES)]
            self._entries = {} if self._header[2] is None else self._read()
        return self._entries

    def _read(self) -> dict[str, list[Any]]:
        """The entries of the file; none when it is missing, foreign, too large or garbled."""
        data = read_own(self.file)
        if not isinstance(data, dict) or data.get("header") != self._header:
            return {}
        entries, configs = data.get("nodes"), data.get("configs")
        if not isinstance(entries, dict) or not isinstance(configs, list):
            return {}
        self._configs = configs
        return entries

    def get(
        self, node_id: str, parents: dict[str, ParentOutput]
    ) -> tuple[NodeConfig, NodeFingerprint] | None:
        """The kept check of ``node_id`` with these parents, if everything it read is as it
        was; None otherwise (check the node in full). The node's folder is named with a
        string (no path objects: this runs once a node on every ``status``). An entry kept
        with other parents' outputs (they ran since) is kept again with these, so the next
        process does not compute its digest again (9,900 digests a ``status`` of 10,000 nodes
        after their first run)."""
        with self._lock:  # the entry and its settings from one table: ``save`` renumbers it
            entry = self._loaded().get(node_id)
            if not isinstance(entry, list) or len(entry) != 3:
                return None
            states, kept = entry[0], entry[2]
            try:
                config = self._config(entry[1])
            except (TypeError, ValueError, KeyError, IndexError, AttributeError):
                return None
        base = self._nodes + node_id
        try:
            if not isinstance(states, list) or not states or len(states) % _STRIDE:
                return None  # a file edited by hand: an entry that vouches for nothing
            for at in range(0, len(states), _STRIDE):
                path, size = base + states[at], states[at + 1]
                if size < 0:
                    if os.access(path, os.F_OK):  # cheaper than a refused stat
                        return None
                    continue
                found = os.stat(path)  # noqa: PTH116 (a str path: 60,000 a status)
                if (
                    found.st_mtime_ns != states[at + 2]
                    or found.st_ctime_ns != states[at + 3]
                    or found.st_size != size
                    or found.st_ino != states[at + 4]
                    or found.st_dev != states[at + 5]
                    or found.st_mode != states[at + 6]
                ):
                    return None
            fingerprint, as_kept = kept_fingerprint(kept, parents)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, OSError):
            return None
        if not as_kept:  # the parents' outputs changed (they ran): kept with the new ones
            with self._lock:
                entry[2] = fingerprint_list(fingerprint)
                self._dirty = True
        return config, fingerprint

    def _config(self, kept: int | NodeConfig) -> NodeConfig:
        if isinstance(kept, NodeConfig):
            return kept
        found = self._decoded.get(kept)
        if found is None:
            found = self._decoded[kept] = config_of(self._configs[kept])
        return found

    def put(
        self,
        node_id: str,
        folder: NodeFolder,
        tree: Tree,
        result: tuple[NodeConfig, NodeFingerprint],
        began_ns: int,
    ) -> None:
        """Keep the check of ``node_id`` that began at ``began_ns`` and walked ``tree`` (its
        ``code/``), unless something it read changed too close to that moment."""
        base = str(folder.path)
        if base != self._nodes + node_id:
            return
        settled = began_ns - RACY_WINDOW_NS
        paths = [f"/code/{folder_}".rstrip("/") for folder_ in tree.folders]
        paths += [f"/code/{relative}" for relative in tree.files]
        states: list[Any] = [f"/{LINKS_FILE}", *_GONE]
        try:
            if _key(f"{base}/{LINKS_FILE}") != _ABSENT:
                return  # linked libs: never kept (they are read from outside)
            for relative in paths:
                key = _key(base + relative)
                if not key or key[1] >= settled or key[2] >= settled:
                    return  # gone, or changed too recently to vouch for
                states += [relative, *key]
        except OSError:  # a folder that cannot be looked at (not searchable): nothing kept
            return
        config, fingerprint = result
        with self._lock:
            self._loaded()[node_id] = [states, config, fingerprint_list(fingerprint)]
            self._dirty = True

    def save(self) -> None:
        """Write the entries if any changed; a cache that cannot be written is skipped."""
        with self._lock:
            if not self._dirty or self._entries is None:
                return
            if self._header[2] is None or self._header[2] != code_identity(CHECK_MODULES):
                return  # none, or the code changed on disk since it was read: keep nothing
            table: dict[NodeConfig, int] = {}
            nodes = {}
            for node_id, entry in self._entries.items():
                try:
                    states, kept, fingerprint = entry
                    config = self._config(kept)
                except (TypeError, ValueError, KeyError, IndexError, AttributeError):
                    continue  # garbled in the file read: dropped
                index = table.setdefault(config, len(table))
                nodes[node_id] = [states, index, fingerprint]
            configs = [config_list(config) for config in table]
            self._entries, self._configs = nodes, configs
            self._decoded = {index: config for config, index in table.items()}
            data = {"header": self._header, "configs": configs, "nodes": nodes}
            text = json.dumps(data, separators=(",", ":"))
            self._dirty = False
        write_own(self.file, text)
