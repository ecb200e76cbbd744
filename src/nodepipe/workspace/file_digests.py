"""File digests of the trees a fingerprint covers, cached by stat (DESIGN.md §4.2).

Digests are cached in a small JSON file the caller names (one per node is best, e.g.
``<node>/.fingerprint-cache.json``), keyed by (path, size, mtime_ns, ctime_ns, inode): a check of
an unchanged folder only stats files. ``os.utime`` cannot put a ctime back, so an edit of the
same size whose mtime was restored still shows. Files modified less than ``RACY_WINDOW_NS``
before the check are hashed but not cached, so an edit within the filesystem's timestamp
granularity is not missed either. The cache file also keeps values parsed from a file
(``HashCache.parse``: a lock's packages, a node's params) for as long as the file's digest holds
and the code that parsed it is the code running (``parser_identity``: the content of
nodepipe's parsing modules, the interpreter and PyYAML; after an upgrade that changed them the
digests are kept, the parses made again). The file is read only if it is a regular file of
this user's that others cannot write (``check_cache_file.read_own``): another user who may
write into a node folder cannot plant parameters or digests in it.

``fingerprint_outputs`` hashes a ``data/`` folder: the value children get; ``tree_digests``
hashes external code, remembering settled files for the process (``workspace.fingerprint``
hashes a node's ``code/``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from stat import S_ISREG
from typing import Any

from nodepipe.domain.staleness import canonical_json, sha256_text
from nodepipe.workspace.check_cache_file import code_digests, read_own
from nodepipe.workspace.code_trees import DATA, EXTERNAL, WALK_REPORTERS, Tree, Walk, scan, tell
from nodepipe.workspace.durable import write_atomic

CACHE_FORMAT = 2
RACY_WINDOW_NS = 2_000_000_000
PARSE_MODULES = (
    "nodepipe.domain.environments",
    "nodepipe.domain.params",
    "nodepipe.domain.staleness",
    "nodepipe.domain.yaml_limits",
    "nodepipe.workspace.conda_project",
    "nodepipe.workspace.external_code",
    "nodepipe.workspace.file_digests",
    "nodepipe.workspace.fingerprint",
    "nodepipe.workspace.uv_lock",
)
"""The modules whose code decides a value ``HashCache.parse`` keeps (a node's params, a
lock's packages, a lock with its library nodes normalised)."""


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file's bytes (follows symlinks)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def scan_beside_cache(root: Path, walk: Walk, cache_file: Path | None) -> Tree:
    """``scan`` leaving out the hash cache file and its temporaries when they lie in ``root``."""
    is_cache = _cache_file_test(root, cache_file)
    return scan(root, walk._replace(skip=is_cache) if cache_file is not None else walk)


class HashCache:
    """Stat-keyed file digests and parsed-file values, loaded from and saved to one JSON file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.trees: dict[str, dict[str, list[Any]]] = {}
        self.parsed: dict[str, dict[str, Any]] = {}
        self.parser: Any = None
        """The parsing code ``parsed`` was made by (``parser_identity``), as the file says
        until a parse is asked for: then only this process's code's parses are kept."""
        self._parser_checked = False
        self._keeps_parses = True
        """False in a process that cannot tell its parsing code: it neither uses nor drops
        the kept parses, and keeps none of its own."""
        self.dirty = False
        self.started_ns = time.time_ns()
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        data = read_own(path)
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
            return
        trees, parsed = data.get("trees"), data.get("parsed")
        if isinstance(trees, dict):
            self.trees = {k: v for k, v in trees.items() if isinstance(v, dict)}
        if isinstance(parsed, dict):
            self.parsed = {k: v for k, v in parsed.items() if isinstance(v, dict)}
        self.parser = data.get("parser")

    def _check_parser(self) -> None:
        """Drop the parses another parsing code made (an upgrade, another Python or PyYAML):
        looked at on the first parse asked for, not on a load that only hashes (outputs)."""
        if self._parser_checked:
            return
        self._parser_checked = True
        current = parser_identity()
        if current is None:  # upgraded under this process: what it parses is not kept
            self._keeps_parses = False
        elif self.parser != current:
            self.dirty = self.dirty or bool(self.parsed)
            self.parsed, self.parser = {}, current

    def hash_files(
        self, root: Path, files: dict[str, os.stat_result], shared: bool = False
    ) -> dict[str, str]:
        """Digests of ``files`` under ``root``; re-reads only files whose stat key changed.

        ``shared`` code (outside the node) is also remembered for this process's lifetime."""
        old = self.trees.get(str(root.absolute()), {})
        new: dict[str, list[Any]] = {}
        digests: dict[str, str] = {}
        told = shared and bool(WALK_REPORTERS)  # external code: may be huge
        for done, (relative, stat) in enumerate(files.items()):
            if told and done % 500 == 0:
                tell(f"hashing external code {root}: {done:,} of {len(files):,} files…")
            key = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
            cached = old.get(relative)
            settled = self.started_ns - stat.st_mtime_ns > RACY_WINDOW_NS
            if isinstance(cached, list) and len(cached) == 5 and cached[:4] == key:
                digests[relative] = cached[4]
            else:
                found = _digest_of(root / relative, stat, settled and shared)
                if found is None:
                    continue  # removed while we looked
                digests[relative] = found
            if settled:
                new[relative] = [*key, digests[relative]]
        if told:
            tell(None)
        if new != old:
            self.trees[str(root.absolute())] = new
            self.dirty = True
        return digests

    def parse(self, path: Path, digest: str, parse: Callable[[bytes], Any], kind: str = "") -> Any:
        """``parse(path bytes)``, remembered for as long as ``digest`` stays the same: the
        file's digest, with whatever else the value depends on joined to it (``kind`` tells
        several parses of one file apart)."""
        self._check_parser()
        if not self._keeps_parses:
            return parse(path.read_bytes())
        key = str(path.absolute()) + kind
        cached = self.parsed.get(key)
        if cached is not None and cached.get("sha") == digest and "value" in cached:
            return cached["value"]
        value = parse(path.read_bytes())
        self.parsed[key] = {"sha": digest, "value": value}
        self.dirty = True
        return value

    def save(self) -> None:
        """Write the cache atomically if it changed; a cache that cannot be written is skipped."""
        if self.path is None or not self.dirty:
            return
        text = json.dumps(  # each parse is kept with the parsing code that made it
            {
                "format": CACHE_FORMAT,
                "parser": self.parser,
                "trees": self.trees,
                "parsed": self.parsed,
            }
        )
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, text, durable=False)  # rebuilt if lost


@functools.cache
def parser_identity() -> list[Any] | None:
    """What the values ``HashCache.parse`` keeps depend on besides the files: the content of
    nodepipe's parsing code (``code_digests``: an upgrade that did not change it keeps the
    parses), the interpreter (its ``tomllib``) and PyYAML's ``__init__`` (its version); None
    when that code cannot be told (then no parse is kept across processes). The code of a
    process does not change under it, so this is looked at once."""
    code = code_digests(PARSE_MODULES)
    if code is None:
        return None
    return [code, sys.version, _package_digest("yaml")]


def _package_digest(name: str) -> str | None:
    """The sha256 of package ``name``'s ``__init__`` file: the imported one, or the first
    regular file of that name on ``sys.path`` (read, not imported: what an import would find
    first); None when there is none."""
    module = sys.modules.get(name)
    where = getattr(module, "__file__", None) if module is not None else None
    if isinstance(where, str):
        places = [where]
    else:  # entries that are not folder names (bytes, a zip file) are passed over, as imports do
        folders = [entry for entry in sys.path if isinstance(entry, str)]
        places = [os.path.join(entry or ".", name, "__init__.py") for entry in folders]  # noqa: PTH118
    for place in places:
        with contextlib.suppress(OSError, ValueError):
            if S_ISREG(os.stat(place).st_mode):  # noqa: PTH116 (not a FIFO: never blocks)
                return sha256_file(Path(place))
    return None


_KNOWN: dict[tuple[str, int, int, int, int], str] = {}
"""Digests of settled files this process hashed, by (path, size, mtime, ctime, inode): a shared
checkout many nodes run is read once per process, not once per node."""


def _digest_of(path: Path, stat: os.stat_result, remember: bool) -> str | None:
    key = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    known = _KNOWN.get(key)
    if known is not None:
        return known
    try:
        digest = sha256_file(path)
    except FileNotFoundError:
        return None
    if remember:
        if len(_KNOWN) > 100_000:
            _KNOWN.clear()
        _KNOWN[key] = digest
    return digest


@functools.cache  # one entry per node folder: a fixed size thrashed past 1,024 nodes
def _cache_file_test(root: Path, cache_file: Path | None) -> Callable[[str], bool]:
    """A test telling whether a path relative to ``root`` is the cache file or a temporary."""
    if cache_file is None:
        return lambda _: False
    cache_file, root = cache_file.absolute(), root.absolute()
    if not cache_file.is_relative_to(root):  # the usual case: the cache lies outside
        return lambda _: False
    relative = cache_file.relative_to(root)
    exact = relative.as_posix()
    folder = "" if relative.parent == Path() else relative.parent.as_posix() + "/"
    temporary = f"{folder}.{relative.name}."
    return lambda path: path == exact or path.startswith(temporary)


def tree_file_digests(
    root: Path, tree: Tree, cache: HashCache, shared: bool = False
) -> dict[str, str]:
    """The digest of each file and symbolic link of ``tree`` (walked from ``root``), sorted."""
    digests = cache.hash_files(root, tree.files, shared)
    for relative, target in tree.links.items():
        digests[relative] = sha256_text(f"symlink:{target}")
    return dict(sorted(digests.items()))


SHOW_RECORDING_BYTES = 512 * 1024 * 1024
"""From this many bytes of outputs to hash (a second or more), ``fingerprint_outputs`` tells
how far it got."""
_CHUNK = 8 * 1024 * 1024


def fingerprint_outputs(
    data_dir: Path,
    cache_file: Path | None = None,
    told: Callable[[int, int], None] | None = None,
) -> str:
    """One digest of every file under ``data_dir`` (names and contents); a missing folder is empty.

    This is the value a child's fingerprint records for the parent on each slot. ``told``
    hears (bytes hashed, bytes in all) as it goes, when there are ``SHOW_RECORDING_BYTES`` or
    more to hash (new outputs of a run: no cache helps).
    """
    cache = HashCache(cache_file)
    tree = scan_beside_cache(data_dir, DATA, cache_file)
    total = sum(stat.st_size for stat in tree.files.values())
    if told is not None and total >= SHOW_RECORDING_BYTES:
        digests = _told_digests(data_dir, tree, total, told)
    else:
        digests = tree_file_digests(data_dir, tree, cache)
    digest = sha256_text(canonical_json(digests))
    cache.save()
    return digest


def _told_digests(
    root: Path, tree: Tree, total: int, told: Callable[[int, int], None]
) -> dict[str, str]:
    """``tree_file_digests`` without a cache, telling ``told`` how many bytes are done, at
    the start, about every 64 MiB and at the end."""
    digests: dict[str, str] = {}
    done = 0
    told(0, total)
    for relative in tree.files:
        hasher = hashlib.sha256()
        with (root / relative).open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
                done += len(chunk)
                if done % (8 * _CHUNK) < len(chunk):
                    told(done, total)
        digests[relative] = hasher.hexdigest()
    for relative, target in tree.links.items():
        digests[relative] = sha256_text(f"symlink:{target}")
    told(total, total)
    return dict(sorted(digests.items()))


def tree_digests(folder: Path, walk: Walk = EXTERNAL) -> dict[str, str]:
    """The digest of each file under ``folder`` walked as ``walk`` says (a shared checkout's
    way by default), remembered per file for this process."""
    return tree_file_digests(folder, scan(folder, walk), HashCache(None), True)


def tree_digest(folder: Path) -> str:
    """One digest of the files of external code at ``folder``."""
    return sha256_text(canonical_json(tree_digests(folder)))
