"""Which files of a folder a fingerprint covers: the walk, with its exclusions.

Three kinds of folder are walked:

- a node's ``code/``: every file but environments and caches; a symbolic link to a folder is
  followed (its files count as the node's, ``shared/helpers.py``), a link that leads back into a
  folder already walked, or nowhere, is recorded by its target;
- external code a node runs (a shared checkout, a ``--path`` package, a code path, a library
  node's package): the same, honouring the ``.gitignore`` files found on the way (and
  ``.git/info/exclude``), so build products and scratch files a checkout ignores never make a
  node stale; as in git, a pattern never hides a file the checkout tracks (``git_index``); a
  symbolic link Python can import through is followed (a link to a module or extension file,
  or to a folder holding Python code at its top: an ``__init__.py``, a module, a package),
  and any other link is recorded by its target, as git tracks it, so a checkout's
  ``datasets -> /mnt/big`` is one entry, not the data behind it (a new target is a change);
  a nodepipe workspace inside it (a folder holding ``.nodepipe/``: the user's repository
  holds their package and their workspace) is left out: its store, outputs and logs change
  at every run;
- a ``data/`` folder: every file, links never followed.

Besides environments and caches, the walks of code leave out the temporary files nodepipe's own
atomic saves write beside a file (``.params.yaml.1a2b3c4d.tmp``): one that a killed save left
behind would otherwise count as code, and make the node stale until the next save.

Paths are ``/``-relative to the folder walked; each file comes with the stat taken while walking.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from nodepipe.domain.environments import CONDA_LOCK, CONDA_PREFIX
from nodepipe.workspace.layout import STATE_DIR_NAME
from nodepipe.workspace.regular_files import read_regular_bytes

if TYPE_CHECKING:
    from nodepipe.workspace.git_index import Tracked

EXCLUDED_DIRS = frozenset(
    {".venv", CONDA_PREFIX, "__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache"}
    | {".git"}
)
EXCLUDED_SUFFIXES = (".pyc", ".egg-info")
GITIGNORE = ".gitignore"
SNAPSHOT_RECORD = ".nodepipe-snapshot.json"
_IMPORTABLE_SUFFIXES = (".py", ".pyw", ".pyc", ".so", ".pth")
"""Names Python imports (or reads at start-up, ``.pth``) through a link in external code."""
"""In a copied snapshot: the digests of the files as copied (``workspace.snapshots``); not code."""

_WRITE_ASIDE = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")
"""The name ``durable.write_aside`` gives a file being written (``.params.yaml.1a2b3c4d.tmp``):
one a killed save left behind is not the node's code (the file it was replacing is)."""
_Ignored = Callable[[str, bool], bool]

Reporter = Callable[[str | None], None]
"""Told what a walk of external code is doing, or None when it is done (hide the line)."""
WALK_REPORTERS: list[Reporter] = []
"""Who listens to walks of external code (``walk_progress.reporting``): usually nobody."""
_TELLING = threading.Lock()  # checks of many nodes may walk in threads


def tell(what: str | None) -> None:
    """Tell every listener ``what`` (a line to show), or None: the walk is done."""
    with _TELLING:
        for reporter in WALK_REPORTERS:
            reporter(what)


@dataclass(frozen=True, slots=True)
class Tree:
    """The files of a folder: regular files to hash, and symlinks recorded by their target."""

    files: dict[str, os.stat_result] = field(default_factory=dict)
    """Each file with its stat, taken while scanning (no second look)."""
    links: dict[str, str] = field(default_factory=dict)
    linked: set[str] = field(default_factory=set)
    """Entries reached through a symbolic link: what they hold may lie outside the folder."""
    folders: list[str] = field(default_factory=list)
    """The folders walked, ``""`` for the root, else ``/``-relative with a trailing ``/``: each
    one listed, and each one found that could not be listed (no permission)."""

    def hard_linked(self) -> bool:
        """Whether a file has another name (``st_nlink > 1``): an edit through that name may
        lie outside the folder, where a watch of the folder is not told of it."""
        return any(found.st_nlink > 1 for found in self.files.values())


class Walk(NamedTuple):
    """How to walk: drop environments and caches, follow folder links, honour .gitignore."""

    excluded: bool = True
    follow_links: bool = True
    gitignore: bool = False
    links_by_target: bool = False
    """A symbolic link Python cannot import through is recorded by its target (as git tracks
    it), not followed: a link to data behind a checkout is one entry."""
    skip: Callable[[str], bool] = lambda _: False
    """Paths left out besides (the hash cache file lying inside the folder)."""


CODE = Walk()
RECORDED = Walk(follow_links=False)
EXTERNAL = Walk(gitignore=True, links_by_target=True)
DATA = Walk(excluded=False, follow_links=False)


def scan(root: Path, walk: Walk, stop_above: int = 0) -> Tree:
    """Walk ``root`` as ``walk`` says; a missing folder is empty. ``stop_above``: stop (with
    part of the files) once more than that many are found."""
    tree = Tree()
    told = bool(WALK_REPORTERS) and walk.gitignore  # external code: may be huge
    ignored = _root_ignores(root) if walk.gitignore else _nothing
    visited: set[str] = set()  # real paths of folders walked through links (and the root's)
    tracked: list[Tracked] = []  # what git tracks, read at the first ignored path
    pending: list[tuple[str, str, _Ignored]] = [("", str(root), ignored)]
    while pending:
        if stop_above and len(tree.files) > stop_above:
            break
        if told:
            tell(f"reading external code {root}: {len(tree.files):,} files…")
        prefix, directory, ignored = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError:  # not listed, but its state is looked at: made readable later
            tree.folders.append(prefix)  # (a chmod changes its ctime) its files are seen
            continue
        if walk.gitignore and holds_workspace_state(entries):
            continue  # a nodepipe workspace inside external code: its store and runs are not code
        tree.folders.append(prefix)
        if walk.gitignore and any(e.name == GITIGNORE for e in entries):
            ignored = _with_gitignore(ignored, prefix, Path(directory) / GITIGNORE)
        for entry in entries:
            relative = prefix + entry.name
            if walk.skip(relative) or (walk.excluded and _is_excluded(entry)):
                continue
            if walk.links_by_target and entry.is_symlink() and not _imports_through(entry):
                if not ignored(relative, False) or _tracked(root, tracked).holds(relative, False):
                    tree.links[relative] = str(Path(entry.path).readlink())
                continue
            is_dir, is_file = _leads_to(entry)
            if ignored(relative, is_dir) and not _tracked(root, tracked).holds(relative, is_dir):
                continue
            if entry.is_symlink():
                tree.linked.add(relative)
            if is_dir and (not entry.is_symlink() or _follow(entry, walk, visited, root)):
                pending.append((relative + "/", entry.path, ignored))
            elif entry.is_symlink() and not is_file:
                tree.links[relative] = str(Path(entry.path).readlink())  # dangling, or a loop
            elif is_file:
                with contextlib.suppress(FileNotFoundError):  # removed while we looked
                    tree.files[relative] = entry.stat()
    if told:
        tell(None)
    return tree


def code_files(code: Path) -> tuple[dict[str, os.stat_result], dict[str, str]]:
    """The files of a node's ``code/`` a run record stores, with their stats, and its symbolic
    links to folders by target (paths ``/``-relative): a folder linked into ``code/`` is in
    the fingerprint but not copied into the record, like a shared checkout (it may be big)."""
    tree = scan(code, RECORDED)
    return tree.files, tree.links


def is_excluded_path(relative: str) -> bool:
    """Whether a ``/``-relative path lies in an environment or a cache (or is a bytecode file)."""
    return any(_is_excluded_name(part) for part in relative.split("/"))


def holds_workspace_state(entries: list[os.DirEntry[str]]) -> bool:
    """Whether a folder with these entries is a nodepipe workspace (it has ``.nodepipe/``)."""
    return any(e.name == STATE_DIR_NAME and e.is_dir(follow_symlinks=False) for e in entries)


def is_write_aside(name: str) -> bool:
    """Whether ``name`` is one ``durable.write_aside`` gives a file it is writing."""
    return name.endswith(".tmp") and _WRITE_ASIDE.fullmatch(name) is not None


def _is_excluded(entry: os.DirEntry[str]) -> bool:
    """Environments and conda prefixes (also one being built or replaced), a conda lock being
    written, and caches."""
    return _is_excluded_name(entry.name)


def _is_excluded_name(name: str) -> bool:
    return (
        name in EXCLUDED_DIRS
        or name.endswith(EXCLUDED_SUFFIXES)
        or name.startswith((".venv.", f"{CONDA_PREFIX}.", f".{CONDA_LOCK}."))
        or name == SNAPSHOT_RECORD
        or is_write_aside(name)
    )


def _leads_to(entry: os.DirEntry[str]) -> tuple[bool, bool]:
    """(a folder, a regular file): what ``entry`` is, a symbolic link followed. A link that
    leads nowhere is neither: dangling, in a loop (``a -> b -> a``: ``ELOOP``), or to what
    this user may not look at; it is recorded by its target, never an error of the walk."""
    try:
        return entry.is_dir(), entry.is_file()
    except OSError:
        return False, False


def _imports_through(link: os.DirEntry[str]) -> bool:
    """Whether Python could import code through this symbolic link: it leads to a module or an
    extension file, or to a folder with Python code at its top (``__init__.py``, a module, or
    a folder holding ``__init__.py``). A dangling link, or one to data, is not followed."""
    try:
        if link.is_file():
            return link.name.endswith(_IMPORTABLE_SUFFIXES)
        if not link.is_dir():
            return False
        with os.scandir(link.path) as entries:
            for entry in entries:
                if entry.name.endswith(_IMPORTABLE_SUFFIXES):
                    return True
                if entry.is_dir() and (Path(entry.path) / "__init__.py").is_file():
                    return True
    except OSError:
        return False
    return False


def _follow(entry: os.DirEntry[str], walk: Walk, visited: set[str], root: Path) -> bool:
    """Whether to walk into the folder a link points at: once each, never in a loop (the
    root's real path is looked up at the first link: most folders have none)."""
    if not walk.follow_links:
        return False
    if not visited:
        visited.add(_real(root))
    real = _real(Path(entry.path))
    if real in visited:
        return False
    visited.add(real)
    return True


def _real(path: Path) -> str:
    return os.path.realpath(path)


def _tracked(root: Path, kept: list[Tracked]) -> Tracked:
    """What the checkout at ``root`` tracks: a pattern never hides a tracked file."""
    if not kept:
        from nodepipe.workspace.git_index import tracked  # only where a pattern matched

        kept.append(tracked(root))
    return kept[0]


def _nothing(_path: str, _is_dir: bool) -> bool:
    return False


def _root_ignores(root: Path) -> _Ignored:
    """What ``.git/info/exclude`` of a checkout rooted at ``root`` ignores."""
    exclude = root / ".git" / "info" / "exclude"
    return _with_gitignore(_nothing, "", exclude) if exclude.is_file() else _nothing


def _with_gitignore(outer: _Ignored, prefix: str, file: Path) -> _Ignored:
    """``outer`` plus the patterns of ``file``, which apply below ``prefix``."""
    try:
        lines = read_regular_bytes(file).decode("utf-8", errors="replace").splitlines()
    except OSError:
        return outer
    import pathspec  # only where a .gitignore is: 30-odd modules no other folder needs

    spec = pathspec.GitIgnoreSpec.from_lines(lines)

    def ignored(path: str, is_dir: bool) -> bool:
        if outer(path, is_dir):
            return True
        inner = path[len(prefix) :] if path.startswith(prefix) else path
        return spec.match_file(inner + "/" if is_dir else inner)

    return ignored
