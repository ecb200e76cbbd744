"""Fingerprints of node folders (DESIGN.md §4.2): what a node's outputs depend on, hashed.

``fingerprint_node`` hashes the files under ``code/`` (never ``.venv/`` or caches), with
``uv.lock`` and ``params.yaml`` as their own parts, plus the entry point and the parents' output
fingerprints by slot. ``fingerprint_outputs`` hashes a ``data/`` folder: the value children get.

File digests are cached in a small JSON file the caller names (one per node is best, e.g.
``<node>/logs/.hash-cache.json``), keyed by (path, size, mtime_ns, inode): a check of an
unchanged folder only stats files. The trade-off: an edit that restores a file's size, mtime and
inode goes unseen (as with git and make). Files modified less than ``RACY_WINDOW_NS`` before the
check are hashed but not cached, so an edit within the filesystem's timestamp granularity is not
missed either.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodepipe.domain.params import parse_params
from nodepipe.domain.staleness import (
    NodeFingerprint,
    ParentOutput,
    canonical_json,
    make_fingerprint,
    sha256_text,
)
from nodepipe.workspace.node_folder import ENTRY_POINT, NodeFolder

__all__ = [
    "NodeFingerprint",
    "ParentOutput",
    "fingerprint_node",
    "fingerprint_outputs",
    "locked_packages",
    "sha256_file",
]

CACHE_FORMAT = 1
RACY_WINDOW_NS = 2_000_000_000
LOCK_FILE = "uv.lock"
PARAMS_FILE = "params.yaml"
EXCLUDED_DIRS = frozenset(
    {".venv", "__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache", ".git"}
)
EXCLUDED_SUFFIXES = (".pyc",)


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file's bytes (follows symlinks)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True, slots=True)
class _Tree:
    """The files of a folder: regular files to hash, and symlinks recorded by their target."""

    files: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)


def _scan(root: Path, excluded: bool, skip: frozenset[str]) -> _Tree:
    """Walk ``root``; ``excluded`` drops environments and caches. Paths are ``/``-relative."""
    tree = _Tree()
    pending = [("", str(root))]
    while pending:
        prefix, directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            relative = prefix + entry.name
            if relative in skip:
                continue
            if entry.is_dir(follow_symlinks=False):
                if not (excluded and entry.name in EXCLUDED_DIRS):
                    pending.append((relative + "/", entry.path))
            elif excluded and entry.name.endswith(EXCLUDED_SUFFIXES):
                continue
            elif entry.is_symlink() and not entry.is_file():
                tree.links[relative] = os.readlink(entry.path)  # a folder or a dangling link
            elif entry.is_file():
                tree.files.append(relative)
    return tree


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
        if isinstance(data, dict) and data.get("format") == CACHE_FORMAT:
            self.trees = data.get("trees", {})
            self.parsed = data.get("parsed", {})

    def hash_files(self, root: Path, files: list[str]) -> dict[str, str]:
        """Digests of ``files`` under ``root``; re-reads only files whose stat key changed."""
        old = self.trees.get(str(root.absolute()), {})
        new: dict[str, list[Any]] = {}
        digests: dict[str, str] = {}
        for relative in files:
            path = root / relative
            stat = path.stat()
            key = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
            cached = old.get(relative)
            if cached is not None and cached[:3] == key:
                digests[relative] = cached[3]
            else:
                digests[relative] = sha256_file(path)
            if self.started_ns - stat.st_mtime_ns > RACY_WINDOW_NS:
                new[relative] = [*key, digests[relative]]
        if new != old:
            self.trees[str(root.absolute())] = new
            self.dirty = True
        return digests

    def parse(self, path: Path, digest: str, parse: Callable[[bytes], Any]) -> Any:
        """``parse(path bytes)``, remembered for as long as the file's digest stays ``digest``."""
        key = str(path.absolute())
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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
            )
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, self.path)
        except OSError:
            Path(locals().get("temporary", self.path.parent / ".none")).unlink(missing_ok=True)


def _cache_names(root: Path, cache_file: Path | None) -> frozenset[str]:
    """Relative paths of the cache file (and its temporaries' folder prefix) if inside ``root``."""
    if cache_file is None:
        return frozenset()
    try:
        relative = cache_file.absolute().relative_to(root.absolute())
    except ValueError:
        return frozenset()
    return frozenset({relative.as_posix()})


def _digests(root: Path, tree: _Tree, cache: _HashCache) -> dict[str, str]:
    digests = cache.hash_files(root, tree.files)
    for relative, target in tree.links.items():
        digests[relative] = sha256_text(f"symlink:{target}")
    return dict(sorted(digests.items()))


def _without_temporaries(tree: _Tree, cache_file: Path | None) -> _Tree:
    if cache_file is None:
        return tree
    prefix = f".{cache_file.name}."
    files = [f for f in tree.files if not f.rsplit("/", 1)[-1].startswith(prefix)]
    return _Tree(files, tree.links)


def fingerprint_outputs(data_dir: Path, cache_file: Path | None = None) -> str:
    """One digest of every file under ``data_dir`` (names and contents); a missing folder is empty.

    This is the value a child's fingerprint records for the parent on each slot.
    """
    cache = _HashCache(cache_file)
    tree = _without_temporaries(
        _scan(data_dir, False, _cache_names(data_dir, cache_file)), cache_file
    )
    digest = sha256_text(canonical_json(_digests(data_dir, tree, cache)))
    cache.save()
    return digest


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
) -> NodeFingerprint:
    """The current fingerprint of the node in ``folder``, given its parents' outputs by slot.

    Raises InvalidInputError when ``params.yaml`` is malformed (the node could not run either).
    """
    cache = _HashCache(cache_file)
    code = folder.code
    tree = _without_temporaries(_scan(code, True, _cache_names(code, cache_file)), cache_file)
    digests = _digests(code, tree, cache)
    lock_digest = digests.pop(LOCK_FILE, None)
    params_digest = digests.pop(PARAMS_FILE, None)
    packages: dict[str, str] = {}
    if lock_digest is not None and LOCK_FILE in tree.files:
        packages = cache.parse(code / LOCK_FILE, lock_digest, locked_packages)
    params: dict[str, Any] = {}
    if params_digest is not None and PARAMS_FILE in tree.files:
        params = cache.parse(code / PARAMS_FILE, params_digest, _parse_params_file(code))
    cache.save()
    return make_fingerprint(digests, params, lock_digest, packages, entry, parents)


def _parse_params_file(code: Path) -> Callable[[bytes], Any]:
    def parse(raw: bytes) -> Any:
        text = raw.decode("utf-8", "replace")
        return json.loads(canonical_json(parse_params(text, str(code / PARAMS_FILE))))

    return parse
