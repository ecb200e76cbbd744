"""Fingerprints of node folders (DESIGN.md §4.2): what a node's outputs depend on, hashed.

``fingerprint_node`` hashes the files under ``code/`` (never ``.venv/``, ``.conda/`` or
caches), with ``uv.lock``, ``conda.lock`` and ``params.yaml`` as their own parts, plus the entry
point and the parents' output fingerprints by slot. The files of the bundle code a node links
(``workspace.bundle_libs``) count as its code, as ``lib::file.py``; so do the files of the
external code it declares (``workspace.external_code``: shared checkouts, ``--path`` packages,
code paths, library nodes), as ``mytool::src/mytool/io.py``, walked as ``workspace.code_trees``
says. ``fingerprint_outputs`` hashes a ``data/`` folder: the value children get.

File digests are cached in a small JSON file the caller names (one per node is best, e.g.
``<node>/.fingerprint-cache.json``), keyed by (path, size, mtime_ns, ctime_ns, inode): a check of
an unchanged folder only stats files. ``os.utime`` cannot put a ctime back, so an edit of the
same size whose mtime was restored still shows. Files modified less than ``RACY_WINDOW_NS``
before the check are hashed but not cached, so an edit within the filesystem's timestamp
granularity is not missed either.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from nodepipe.domain.environments import CONDA_LOCK
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.params import parse_params
from nodepipe.domain.staleness import (
    SHARED_CODE_SEPARATOR,
    SNAPSHOTS_DIR,
    NodeFingerprint,
    ParentOutput,
    canonical_json,
    make_fingerprint,
    sha256_text,
)
from nodepipe.workspace.bundle_libs import read_links
from nodepipe.workspace.code_trees import (
    CODE,
    DATA,
    EXCLUDED_DIRS,
    EXCLUDED_SUFFIXES,
    EXTERNAL,
    Tree,
    Walk,
    code_files,
    scan,
)
from nodepipe.workspace.conda_project import conda_locked_packages
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.external_code import (
    ExternalCode,
    check_present,
    external_code,
    library_nodes,
    normalised_lock,
)
from nodepipe.workspace.git_revisions import head_commit
from nodepipe.workspace.node_folder import ENTRY_POINT, NodeFolder

__all__ = [
    "EXCLUDED_DIRS",
    "EXCLUDED_SUFFIXES",
    "NodeFingerprint",
    "ParentOutput",
    "SharedScans",
    "code_files",
    "fingerprint_and_scope",
    "fingerprint_node",
    "fingerprint_outputs",
    "locked_packages",
    "sha256_file",
    "tree_digest",
    "tree_digests",
]

CACHE_FORMAT = 2
RACY_WINDOW_NS = 2_000_000_000
LOCK_FILE = "uv.lock"
PARAMS_FILE = "params.yaml"
PROJECT_FILE = "pyproject.toml"


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file's bytes (follows symlinks)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _scan(root: Path, walk: Walk, cache_file: Path | None) -> Tree:
    """``scan`` leaving out the hash cache file and its temporaries when they lie in ``root``."""
    is_cache = _cache_file_test(root, cache_file)
    return scan(root, replace(walk, skip=is_cache) if cache_file is not None else walk)


class _HashCache:
    """Stat-keyed file digests and parsed-file values, loaded from and saved to one JSON file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.trees: dict[str, dict[str, list[Any]]] = {}
        self.parsed: dict[str, dict[str, Any]] = {}
        self.dirty = False
        self.started_ns = time.time_ns()
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
            return
        trees, parsed = data.get("trees"), data.get("parsed")
        self.trees = {k: v for k, v in trees.items() if isinstance(v, dict)} if trees else {}
        self.parsed = {k: v for k, v in parsed.items() if isinstance(v, dict)} if parsed else {}

    def hash_files(
        self, root: Path, files: dict[str, os.stat_result], shared: bool = False
    ) -> dict[str, str]:
        """Digests of ``files`` under ``root``; re-reads only files whose stat key changed.

        ``shared`` code (outside the node) is also remembered for this process's lifetime."""
        old = self.trees.get(str(root.absolute()), {})
        new: dict[str, list[Any]] = {}
        digests: dict[str, str] = {}
        for relative, stat in files.items():
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
        if new != old:
            self.trees[str(root.absolute())] = new
            self.dirty = True
        return digests

    def parse(self, path: Path, digest: str, parse: Callable[[bytes], Any], kind: str = "") -> Any:
        """``parse(path bytes)``, remembered for as long as the file's digest stays ``digest``
        (``kind`` tells several parses of one file apart)."""
        key = str(path.absolute()) + kind
        cached = self.parsed.get(key)
        if cached is not None and cached.get("sha") == digest:
            return cached["value"]
        value = parse(path.read_bytes())
        self.parsed[key] = {"sha": digest, "value": value}
        self.dirty = True
        return value

    def save(self) -> None:
        """Write the cache atomically if it changed; a cache that cannot be written is skipped."""
        if self.path is None or not self.dirty:
            return
        text = json.dumps({"format": CACHE_FORMAT, "trees": self.trees, "parsed": self.parsed})
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, text, mode=0o644, durable=False)  # rebuilt if lost


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


def _digests(root: Path, tree: Tree, cache: _HashCache, shared: bool = False) -> dict[str, str]:
    digests = cache.hash_files(root, tree.files, shared)
    for relative, target in tree.links.items():
        digests[relative] = sha256_text(f"symlink:{target}")
    return dict(sorted(digests.items()))


def fingerprint_outputs(data_dir: Path, cache_file: Path | None = None) -> str:
    """One digest of every file under ``data_dir`` (names and contents); a missing folder is empty.

    This is the value a child's fingerprint records for the parent on each slot.
    """
    cache = _HashCache(cache_file)
    tree = _scan(data_dir, DATA, cache_file)
    digest = sha256_text(canonical_json(_digests(data_dir, tree, cache)))
    cache.save()
    return digest


def tree_digests(folder: Path, walk: Walk = EXTERNAL) -> dict[str, str]:
    """The digest of each file under ``folder`` walked as ``walk`` says (a shared checkout's
    way by default), remembered per file for this process."""
    return _digests(folder, scan(folder, walk), _HashCache(None), True)


def tree_digest(folder: Path) -> str:
    """One digest of the files of external code at ``folder``."""
    return sha256_text(canonical_json(tree_digests(folder)))


def locked_packages(lock_text: bytes | str) -> dict[str, str]:
    """Package name -> locked version from ``uv.lock`` text; ``{}`` if it is not valid TOML.

    A package locked at several versions (forked resolution) shows them joined with `` | ``; a
    git source adds its short commit (``1.2.0 (git 1a2b3c4)``).
    """
    text = lock_text.decode("utf-8", "replace") if isinstance(lock_text, bytes) else lock_text
    try:
        packages = tomllib.loads(text).get("package", [])
    except tomllib.TOMLDecodeError:
        return {}
    versions: dict[str, set[str]] = {}
    for package in packages if isinstance(packages, list) else []:
        if isinstance(package, dict) and isinstance(package.get("name"), str):
            versions.setdefault(package["name"], set()).add(_version_of(package))
    return {name: " | ".join(sorted(found)) for name, found in sorted(versions.items())}


def _version_of(package: Mapping[str, Any]) -> str:
    version = str(package.get("version", "?"))
    source = package.get("source")
    git = source.get("git") if isinstance(source, dict) else None
    if isinstance(git, str) and "#" in git:
        version += f" (git {git.rsplit('#', 1)[1][:7]})"
    return version


def fingerprint_node(
    folder: NodeFolder,
    parents: Mapping[str, ParentOutput],
    entry: str = ENTRY_POINT,
    cache_file: Path | None = None,
    scans: SharedScans | None = None,
) -> NodeFingerprint:
    """The current fingerprint of the node in ``folder``, given its parents' outputs by slot.

    ``scans`` keeps the walks of external folders for the caller's one check of many nodes
    (a folder they share is walked once). Raises InvalidInputError when ``params.yaml`` is
    malformed, or declared external code is missing (the node could not run either).
    """
    return fingerprint_and_scope(folder, parents, entry, cache_file, scans)[0]


def fingerprint_and_scope(
    folder: NodeFolder,
    parents: Mapping[str, ParentOutput],
    entry: str = ENTRY_POINT,
    cache_file: Path | None = None,
    scans: SharedScans | None = None,
) -> tuple[NodeFingerprint, Tree | None]:
    """``fingerprint_node``, and the walk of the node's ``code/`` when every file it read lies
    inside it (no linked lib, external code, symbolic link or snapshot clone; None otherwise):
    then the state of that walk's files and folders is all the fingerprint depends on
    (``workspace.folder_memo``, ``workspace.check_cache``)."""
    code = folder.code
    tree = _scan(code, CODE, cache_file)
    scans = {} if scans is None else scans
    libs = tuple((link.name, scan(link.path, CODE), link.path) for link in read_links(folder))
    libs += tuple(
        (item.name, _shared_scan(item.path, scans), item.path) for item in _present_external(code)
    )
    revisions = snapshot_revisions(code)
    state = _settled_state(code, (tree, *(t for _, t, _ in libs)), entry, parents, cache_file)
    settled = None if state is None else (*state, tuple(sorted(revisions.items())))
    inside = tree if not libs and not tree.linked and not revisions else None
    known = _SETTLED.get(str(code)) if settled is not None else None
    if known is not None and known[0] == settled:
        return known[1], inside
    fingerprint = _fingerprint_tree(code, tree, libs, entry, parents, _HashCache(cache_file))
    fingerprint = replace(fingerprint, revisions=revisions)
    if settled is not None:
        _SETTLED[str(code)] = (settled, fingerprint)
    return fingerprint, inside


_SETTLED: dict[str, tuple[tuple[Any, ...], NodeFingerprint]] = {}
"""The fingerprint of each node folder whose files all settled (older than the racy window),
with the folder's stat state it holds for: a long-lived process (the web app) checking again
only scans. One entry per folder, sized to the workspace (a fixed-size cache emptied itself
every 4,096 nodes: at 10,000 every check hashed again)."""


def _settled_state(
    code: Path,
    trees: tuple[Tree, ...],
    entry: str,
    parents: Mapping[str, ParentOutput],
    cache_file: Path | None,
) -> tuple[Any, ...] | None:
    """What the fingerprint of ``tree`` depends on, or None if a file changed too recently.

    The hash cache file's own state is part of it: removing or rewriting the cache makes the
    next check hash again, as it would in a new process.
    """
    if cache_file is None:
        return None
    try:
        cache_stat = cache_file.stat()
    except OSError:
        return None
    newest_settled = time.time_ns() - RACY_WINDOW_NS
    state: list[Any] = [
        str(code),
        (cache_stat.st_size, cache_stat.st_mtime_ns, cache_stat.st_ino),
        entry,
        tuple(sorted((slot, p.node_id, p.outputs) for slot, p in parents.items())),
    ]
    for tree in trees:  # the node's code, then each linked lib
        files = []
        for relative, stat in tree.files.items():
            if stat.st_mtime_ns > newest_settled:
                return None
            files.append((relative, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino))
        state += [tuple(sorted(files)), tuple(sorted(tree.links.items()))]
    return tuple(state)


def _fingerprint_tree(
    code: Path,
    tree: Tree,
    libs: tuple[tuple[str, Tree, Path], ...],
    entry: str,
    parents: Mapping[str, ParentOutput],
    cache: _HashCache,
) -> NodeFingerprint:
    digests = _digests(code, tree, cache)
    lock_digest = digests.pop(LOCK_FILE, None)
    conda_digest = digests.pop(CONDA_LOCK, None)
    params_file_digest = digests.pop(PARAMS_FILE, None)
    for name, lib_tree, path in libs:
        for relative, digest in _digests(path, lib_tree, cache, True).items():
            digests[f"{name}{SHARED_CODE_SEPARATOR}{relative}"] = digest
    packages: dict[str, str] = {}
    libraries = _libraries_of(code)
    if libraries and PROJECT_FILE in digests:  # library nodes by id: not what the node runs
        digests[PROJECT_FILE] = _normalised(cache, code / PROJECT_FILE, digests, libraries)
    if lock_digest is not None and LOCK_FILE in tree.files:
        packages = cache.parse(code / LOCK_FILE, lock_digest, locked_packages)
        if libraries:
            lock_digest = _normalised(cache, code / LOCK_FILE, {LOCK_FILE: lock_digest}, libraries)
    conda_packages: dict[str, str] = {}
    if conda_digest is not None and CONDA_LOCK in tree.files:
        conda_packages = cache.parse(code / CONDA_LOCK, conda_digest, conda_locked_packages)
    params: dict[str, Any] = {}
    if params_file_digest is not None and PARAMS_FILE in tree.files:
        params = cache.parse(code / PARAMS_FILE, params_file_digest, _parse_params_file(code))
    cache.save()
    return make_fingerprint(
        digests,
        params,
        lock_digest,
        packages,
        entry,
        parents,
        conda_digest=conda_digest,
        conda_packages=conda_packages,
    )


def _normalised(
    cache: _HashCache, file: Path, digests: Mapping[str, str], libraries: Mapping[str, str]
) -> str:
    """The digest of ``file`` with its library nodes' ids written the same way."""
    return str(
        cache.parse(
            file,
            digests[file.name],
            lambda raw: hashlib.sha256(normalised_lock(raw, libraries)).hexdigest(),
            "#normalised",
        )
    )


SharedScans = dict[Path, Tree]
"""Walks of external folders during one check of many nodes, by folder."""


def _shared_scan(folder: Path, scans: SharedScans) -> Tree:
    found = scans.get(folder)
    if found is None:
        found = scans[folder] = scan(folder, EXTERNAL)
    return found


def _libraries_of(code: Path) -> dict[str, str]:
    try:
        return library_nodes(code)
    except InvalidInputError:
        return {}


def snapshot_revisions(code: Path) -> dict[str, str]:
    """Snapshot name -> the commit its clone has checked out (copied snapshots have none)."""
    try:
        folders = list(os.scandir(code / SNAPSHOTS_DIR))
    except OSError:
        return {}
    found = {}
    for entry in folders:
        if entry.is_dir(follow_symlinks=False):
            commit = head_commit(Path(entry.path))
            if commit is not None:
                found[entry.name] = commit
    return dict(sorted(found.items()))


def _present_external(code: Path) -> tuple[ExternalCode, ...]:
    """The external code the node declares; InvalidInputError naming any that is missing (the
    node could not run: nodepipe says so before it starts)."""
    try:
        declared = external_code(code)
    except (InvalidInputError, OSError):
        return ()  # no readable pyproject: the node's own checks say so
    check_present(code, declared)
    return declared


def _parse_params_file(code: Path) -> Callable[[bytes], Any]:
    def parse(raw: bytes) -> Any:
        text = raw.decode("utf-8", "replace")
        return json.loads(canonical_json(parse_params(text, str(code / PARAMS_FILE))))

    return parse
