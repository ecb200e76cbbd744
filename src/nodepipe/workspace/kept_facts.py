"""Facts about a node kept across processes while the files they came from stat as they did:
a run in a new process does not read, hash and parse them again for every node.

Before each node run the orchestrator asks whether its environment was synced from its lock
and that lock satisfies its ``pyproject.toml`` (``envs.node_env``: the sync marker read, the
lock hashed, the pyproject parsed), whether its entry file's inline metadata is in its
pyproject (``services.envs.inline_metadata``), whether its context file already holds the
context (``execution.run_files``), and records what it starts with (``run_environment``: every
code file's digest, the manifest naming them, the interpreter's version from ``pyvenv.cfg``);
its ``pyproject.toml`` is parsed for several of those (``node_config``). A long-lived process
remembers those by the files' states; this keeps them for the next process too, the way
``check_cache`` keeps node checks:

- a fact is kept with the state of every file it was read from (path, mtime, size, inode,
  ctime; for a walked ``code/``, device and mode too) and is given back only for exactly those
  states, which the caller looks at anew each time (a file added or removed changes the walk);
  ``ctime`` cannot be set back, so an edit of the same size with its mtime put back shows;
- git's "racily clean" rule: a fact is kept only when every file it was read from last changed
  (mtime and ctime) more than ``RACY_WINDOW_NS`` before the reading began;
- the file names the workspace and the nodepipe code that decides the facts (the size and mtime
  of ``FACT_MODULES``' files, ``code_identity``): after an upgrade or an edit of that code it is
  rebuilt, and a process whose code is not the code on disk (upgraded under it) keeps none;
- it is kept in JSON files per OS user, in shards by the first character of the node's id
  (``.nodepipe/cache/node-facts-<uid>-<c>.json``: a run of a few nodes of a large workspace
  reads and writes only theirs), each read at once and replaced atomically when a run ends,
  never flushed (a lost file is rebuilt); a file that is not a regular file of this user's,
  is writable by others, is too large or does not parse is ignored, as is an entry of the
  wrong shape: a forged file can at worst name a state the stats then refuse
  (``check_cache_file.read_own``). Concurrent writers: the last one wins.

Facts are kept for the workspace a process opened (``KeptFacts`` registers itself by its nodes
folder, and a fact is found by the node folder it is about); a process that opened none (a Ray
worker) reads everything as before.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nodepipe.workspace.check_cache_file import code_identity, read_own, write_own
from nodepipe.workspace.file_digests import RACY_WINDOW_NS

FACTS_FORMAT = 1
FACT_MODULES = (
    "nodepipe.domain.environments",
    "nodepipe.domain.staleness",
    "nodepipe.envs.members",
    "nodepipe.envs.node_env",
    "nodepipe.envs.script_metadata",
    "nodepipe.execution.run_files",
    "nodepipe.services.envs.inline_metadata",
    "nodepipe.workspace.code_trees",
    "nodepipe.workspace.external_code",
    "nodepipe.workspace.file_state",
    "nodepipe.workspace.kept_facts",
    "nodepipe.workspace.node_config",
    "nodepipe.workspace.run_environment",
)
"""The modules whose code decides what a fact says (all imported by a run by then)."""
MAX_ENTRIES = 100_000
"""Beyond this many facts a shard starts afresh (five a node: far above a workspace's share)."""

_SHARD_NAMES = "abcdefghijklmnopqrstuvwxyz0123456789"
States = list[Any]
"""The states a fact was read from: plain values, a list (a path, then numbers) a file, None
for a file absent."""

_OPENED: dict[str, KeptFacts] = {}
"""The kept facts of each workspace opened in this process, by its nodes folder with a
trailing ``/`` (the newest opened)."""


def facts_file(state_dir: Path, node_id: str) -> Path:
    """This OS user's file of the kept facts about node ``node_id`` (one shard of them: the
    nodes whose id starts as its does) of a workspace whose state folder is ``state_dir``."""
    return state_dir / "cache" / f"node-facts-{os.geteuid()}-{_shard(node_id)}.json"


def facts_for(node_path: str) -> KeptFacts | None:
    """The kept facts of the workspace whose node folder is ``node_path`` (``<nodes>/<id>``),
    if this process opened it; None otherwise."""
    nodes, _, _ = node_path.rpartition("/")
    return _OPENED.get(f"{nodes}/")


def settled(stamps: Iterable[int], began_ns: int) -> bool:
    """Whether every mtime and ctime in ``stamps`` is more than ``RACY_WINDOW_NS`` before the
    reading that began at ``began_ns``: only then may what was read be kept."""
    limit = began_ns - RACY_WINDOW_NS
    return all(stamp < limit for stamp in stamps)


def _shard(node_id: str) -> str:
    """The shard of a node's facts: its id's first character (ids are lowercase letters and
    digits; anything else shares one shard)."""
    first = node_id[:1]
    return first if first and first in _SHARD_NAMES else "_"


class KeptFacts:
    """The kept facts of one workspace, in shards by node (a run of a few nodes of a large
    workspace reads and writes only theirs), each loaded on first use, saved by ``save``.

    A fact is ``[states, value]`` under ``kind:key`` (the kind of fact, and what it is about: a
    path in a node's folder, such as its ``code/``)."""

    def __init__(self, state_dir: Path, root: Path, nodes_dir: Path) -> None:
        self._state_dir = state_dir
        self._root = str(root)
        self._nodes = f"{nodes_dir}/"
        self._shards: dict[str, dict[str, Any]] = {}
        self._header: list[Any] | None = None
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        _OPENED[self._nodes] = self

    def _loaded(self, key: str) -> tuple[str, dict[str, Any]]:
        """The shard the facts about ``key`` (a path in a node's folder) are in, loaded."""
        node_id = key[len(self._nodes) :].partition("/")[0] if key.startswith(self._nodes) else ""
        shard = _shard(node_id)
        entries = self._shards.get(shard)
        if entries is None:
            with self._lock:
                entries = self._shards.get(shard)
                if entries is None:
                    entries = self._shards[shard] = self._read(node_id)
        return shard, entries

    def _read(self, node_id: str) -> dict[str, Any]:
        """The facts of the shard of ``node_id``; none when its file is missing, foreign, too
        large, garbled or made for another workspace or another nodepipe."""
        if self._header is None:
            self._header = [FACTS_FORMAT, self._root, code_identity(FACT_MODULES)]
        if self._header[2] is None:  # the code running is not known: nothing is kept
            return {}
        data = read_own(facts_file(self._state_dir, node_id))
        if not isinstance(data, dict) or data.get("header") != self._header:
            return {}
        facts = data.get("facts")
        return facts if isinstance(facts, dict) else {}

    def get(self, kind: str, key: str, states: States) -> Any:
        """The value kept for ``kind:key`` read from files in exactly ``states``; None when
        there is none (or it was read from other states)."""
        entry = self._loaded(key)[1].get(f"{kind}:{key}")
        if not isinstance(entry, list) or len(entry) != 2 or entry[0] != states:
            return None
        return entry[1]

    def put(self, kind: str, key: str, states: States, value: Any) -> None:
        """Keep ``value``, read from files in ``states``: only once ``settled`` said none of
        them changed too close to the reading (the caller asks it, naming each mtime and
        ctime)."""
        shard, entries = self._loaded(key)
        name = f"{kind}:{key}"
        with self._lock:
            if entries.get(name) == [states, value]:
                return
            if len(entries) >= MAX_ENTRIES:
                entries.clear()
            entries[name] = [states, value]
            self._dirty.add(shard)

    def save(self) -> None:
        """Write the shards whose facts changed; a file that cannot be written is skipped."""
        with self._lock:
            identity = None if self._header is None else self._header[2]
            if identity is None or identity != code_identity(FACT_MODULES):
                self._dirty.clear()  # none, or the code changed on disk since: keep nothing
                return
            texts = {
                shard: json.dumps(
                    {"header": self._header, "facts": self._shards[shard]}, separators=(",", ":")
                )
                for shard in self._dirty
            }
            self._dirty.clear()
        for shard, text in sorted(texts.items()):
            write_own(facts_file(self._state_dir, shard), text, crash="kept_facts.aside")


def now_ns() -> int:
    """The wall clock, as file times are stamped: taken before a reading begins."""
    return time.time_ns()
