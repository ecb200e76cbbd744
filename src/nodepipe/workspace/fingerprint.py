"""Fingerprints of node folders (DESIGN.md §4.2): what a node's outputs depend on, hashed.

``fingerprint_node`` hashes the files under ``code/`` (never ``.venv/``, ``.conda/`` or
caches), with ``uv.lock``, ``conda.lock`` and ``params.yaml`` as their own parts, plus the entry
point and the parents' output fingerprints by slot. The files of the bundle code a node links
(``workspace.bundle_libs``) count as its code, as ``lib::file.py``; so do the files of the
external code it declares (``workspace.external_code``: shared checkouts, ``--path`` packages,
code paths, library nodes), as ``mytool::src/mytool/io.py``, walked as ``workspace.code_trees``
says. The files are hashed through the stat-keyed cache of ``workspace.file_digests`` (which
also hashes a ``data/`` folder: ``fingerprint_outputs``), and a folder whose files all settled
is remembered whole for the process (``_SETTLED``).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from stat import S_ISLNK
from typing import Any

from nodepipe.domain.environments import CONDA_LOCK
from nodepipe.domain.errors import InvalidInputError, not_utf8
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
from nodepipe.workspace.check_cache import kept_check
from nodepipe.workspace.code_trees import CODE, EXTERNAL, Tree, scan
from nodepipe.workspace.conda_project import conda_locked_packages
from nodepipe.workspace.external_code import (
    CODE_PATH,
    ExternalCode,
    check_present,
    external_code,
    library_nodes,
    normalised_lock,
)
from nodepipe.workspace.file_digests import (
    RACY_WINDOW_NS,
    HashCache,
    scan_beside_cache,
    tree_file_digests,
)
from nodepipe.workspace.git_revisions import head_commit
from nodepipe.workspace.node_folder import ENTRY_POINT, LINKS_FILE, NodeFolder
from nodepipe.workspace.regular_files import not_regular
from nodepipe.workspace.self_links import check_code_paths, check_no_self_links
from nodepipe.workspace.uv_lock import locked_packages

LOCK_FILE = "uv.lock"
PARAMS_FILE = "params.yaml"
PROJECT_FILE = "pyproject.toml"


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
    malformed, declared external code is missing (the node could not run either), or a link
    in its code leads where its runs write (``workspace.self_links``).
    """
    return fingerprint_and_scope(folder, parents, entry, cache_file, scans)[0]


def fingerprint_and_scope(
    folder: NodeFolder,
    parents: Mapping[str, ParentOutput],
    entry: str = ENTRY_POINT,
    cache_file: Path | None = None,
    scans: SharedScans | None = None,
    code_tree: Tree | None = None,
) -> tuple[NodeFingerprint, Tree | None]:
    """``fingerprint_node``, and the walk of the node's ``code/`` when every file it read lies
    inside it (no linked lib, external code, symbolic link, file with another hard link, the
    links file's own included, or snapshot clone; None otherwise): then the state of that
    walk's files and folders is all the fingerprint depends on (``workspace.folder_memo``,
    ``workspace.check_cache``).
    ``code_tree``: the walk of ``code/`` the caller just took (``CODE``, the cache file left
    out), if any."""
    code = folder.code
    tree = scan_beside_cache(code, CODE, cache_file) if code_tree is None else code_tree
    scans = {} if scans is None else scans
    libs = tuple((link.name, scan(link.path, CODE), link.path) for link in read_links(folder))
    libs += tuple(
        (item.name, _shared_scan(item.path, scans), item.path) for item in _present_external(code)
    )
    if tree.linked or any(t.linked for _, t, _ in libs):
        check_no_self_links(
            folder,
            [("code", code, tree.linked), *((n, p, t.linked) for n, t, p in libs if t.linked)],
        )
    revisions = snapshot_revisions(code)
    state = _settled_state(code, (tree, *(t for _, t, _ in libs)), entry, parents, cache_file)
    named = tuple((name, str(path)) for name, _, path in libs)  # a lib renamed in links.toml
    settled = None if state is None else (*state, tuple(sorted(revisions.items())), named)
    outside = libs or tree.linked or revisions or tree.hard_linked() or _reached_by_link(folder)
    inside = None if outside else tree
    known = _SETTLED.get(str(code)) if settled is not None else None
    if known is not None and known[0] == settled:
        return known[1], inside
    fingerprint = _fingerprint_tree(code, tree, libs, entry, parents, HashCache(cache_file))
    fingerprint = replace(fingerprint, revisions=revisions)
    if settled is not None:
        _SETTLED[str(code)] = (settled, fingerprint)
    return fingerprint, inside


def launch_fingerprint(folder: NodeFolder, planned: str, code_tree: Tree | None = None) -> str:
    """The fingerprint (its JSON) of the node as it is about to launch, from ``planned``, the
    one made when the run was planned: the code and locks are read again (a lock relocked
    before the launch, a file edited while the node waited), the parameters and inputs stay
    the planned ones (the node reads them from its context file). ``planned`` itself when
    nothing changed or it is not a fingerprint. ``code_tree``: ``code/`` walked just now.

    A node whose kept check (``check_cache.kept_check``) vouches that none of its files
    changed since that check is not read again: its fingerprint is the kept one, as for a
    ``status``."""
    try:
        before = NodeFingerprint.from_dict(json.loads(planned))
    except ValueError:
        return planned
    now = kept_check(folder, dict(before.parents))
    if now is None or now.entry != before.entry:
        now, _ = fingerprint_and_scope(
            folder, before.parents, before.entry, folder.fingerprint_cache, code_tree=code_tree
        )
    if now.digest == before.digest and _same_packages(now, before):
        return planned  # the digest covers code, parameters, locks, entry and inputs
    if now.params_digest != before.params_digest:
        now = make_fingerprint(
            now.code,
            before.params,
            now.lock_digest,
            now.packages,
            now.entry,
            before.parents,
            now.revisions,
            now.conda_digest,
            now.conda_packages,
        )
    return planned if now.to_dict() == before.to_dict() else json.dumps(now.to_dict())


def _same_packages(one: NodeFingerprint, other: NodeFingerprint) -> bool:
    """Whether two fingerprints name the same packages and snapshot revisions (what their
    digests leave out: the packages are read from the locks the digests cover)."""
    return (
        one.packages == other.packages
        and one.conda_packages == other.conda_packages
        and one.revisions == other.revisions
    )


def _reached_by_link(folder: NodeFolder) -> bool:
    """Whether the node's folder or its ``code/`` is a symbolic link, or its links file is one
    or has another hard link: its files then lie (or may be edited) elsewhere, where a watch of
    the node folders is not told of their edits."""
    if folder.code.is_symlink() or folder.path.is_symlink():
        return True
    try:
        links = (folder.path / LINKS_FILE).lstat()
    except OSError:
        return False
    return S_ISLNK(links.st_mode) or links.st_nlink > 1


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
    cache: HashCache,
) -> NodeFingerprint:
    digests = tree_file_digests(code, tree, cache)
    lock_digest = digests.pop(LOCK_FILE, None)
    conda_digest = digests.pop(CONDA_LOCK, None)
    params_file_digest = digests.pop(PARAMS_FILE, None)
    for name, lib_tree, path in libs:
        for relative, digest in tree_file_digests(path, lib_tree, cache, True).items():
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
    else:
        _check_no_params_in_disguise(code)
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
    cache: HashCache, file: Path, digests: Mapping[str, str], libraries: Mapping[str, str]
) -> str:
    """The digest of ``file`` with its library nodes' ids written the same way: kept for
    this content of the file and these ``libraries`` (a library re-pointed to another node
    in the pyproject, with the lock untouched, is normalised again)."""
    mapping = sha256_text(canonical_json(dict(libraries)))
    return str(
        cache.parse(
            file,
            f"{digests[file.name]}+{mapping}",
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
    """The external code the node declares; InvalidInputError naming any that is missing, or a
    code path that holds or lies in what the node's runs write (the node could not run, or
    never be up to date: nodepipe says so before it starts)."""
    try:
        declared = external_code(code)
    except (InvalidInputError, OSError):
        return ()  # no readable pyproject: the node's own checks say so
    check_present(code, declared)
    check_code_paths(code, ((i.name, i.path) for i in declared if i.kind == CODE_PATH))
    return declared


def _check_no_params_in_disguise(code: Path) -> None:
    """A ``params.yaml`` the walk passed over (a named pipe, a device, a link to one) is not
    "no parameters": the node would run with none while ``node show`` refuses the file."""
    try:
        mode = os.stat(code / PARAMS_FILE).st_mode  # noqa: PTH116 (a stat: never blocks)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        raise InvalidInputError(f"cannot read {code / PARAMS_FILE}: {exc.strerror}") from exc
    raise InvalidInputError(f"cannot read {code / PARAMS_FILE}: {not_regular(mode)}")


def _parse_params_file(code: Path) -> Callable[[bytes], Any]:
    def parse(raw: bytes) -> Any:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:  # the node would be given other values than saved
            raise InvalidInputError(f"cannot read {code / PARAMS_FILE}: {not_utf8(exc)}") from exc
        return json.loads(canonical_json(parse_params(text, str(code / PARAMS_FILE))))

    return parse
