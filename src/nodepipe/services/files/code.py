"""A node's code files in the app: listed, read with a version, and saved only over the version
that was read.

What is listed is what the node's fingerprint covers in ``code/`` (never ``.venv``, a conda
prefix, caches or bytecode). A save names the version it read (the digest of the bytes); a file
changed on disk since then is not overwritten (``ChangedOnDiskError``, the app offers Reload or
Overwrite), unless the save says to overwrite. The check and the write are one step: a save
holds the node's ``code/`` (``folder_locks``, the lock environment edits hold too) and checks
the version again once its copy is written, just before the rename. Saves are atomic
(written aside, flushed, renamed), stay inside ``code/`` (no link out, no link replaced) and
are refused on nodes that are read-only where they are seen, with the hint that lifts it.
``params.yaml`` is saved by the parameters' own rules (``NodeService.set_params``): validated,
kept as typed, and only a changed value makes the node stale. ``uv.lock`` and ``conda.lock``
are written by nodepipe alone.

A file is renamed or deleted over the version read too (one ``rename``/``unlink``: a kill leaves
the old name or the new, the file or none, never both or half). What the node needs to be a
node (``main.py``, ``params.yaml``, ``pyproject.toml``, the lock files) is neither renamed nor
deleted nor made by a rename; a new name is never hidden, never an environment or a cache.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nodepipe.domain.environments import CONDA_LOCK
from nodepipe.domain.errors import (
    ChangedOnDiskError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from nodepipe.domain.node_files import CodeText, FileListing, version_of
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.nodes import NodeService
from nodepipe.services.guards import check_node_editable
from nodepipe.workspace.code_trees import is_excluded_path
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import fsync_dir, new_file_mode, write_aside
from nodepipe.workspace.folder_files import checked_name, inside, listing, open_inside
from nodepipe.workspace.pyproject_trust import check_saved_pyproject
from nodepipe.workspace.regular_files import read_regular_text

MAX_EDITABLE = 1024 * 1024
"""The largest code file the app reads or saves (bytes)."""
WRITTEN_BY_NODEPIPE = frozenset({"uv.lock", CONDA_LOCK})
PARAMS = "params.yaml"
PYPROJECT = "pyproject.toml"
KEPT = frozenset({"main.py", PARAMS, PYPROJECT, *WRITTEN_BY_NODEPIPE})
"""Code files the app neither renames nor deletes (nor makes by renaming another)."""


@dataclass(frozen=True, slots=True)
class CodeFileService:
    context: WorkspaceContext

    def _code(self, name: str, pipeline: str | None, *, editing: bool = False) -> Path:
        with self.context.store.read() as session:
            within = resolver.pipeline(session, pipeline) if pipeline else None
            node = resolver.node(session, name, within)
            if editing:
                check_node_editable(session, node, within)
        return self.context.layout.node_folder(node.id).code

    def list(self, name: str, pipeline: str | None = None) -> FileListing:
        """The node's code files (paths relative to ``code/``)."""
        return listing([(self._code(name, pipeline), "")], is_excluded_path)

    def read(self, name: str, path: str, pipeline: str | None = None) -> CodeText:
        """The text of code file ``path`` and its version."""
        relative = _code_name(path)
        return _read(self._code(name, pipeline), relative)

    def write(
        self,
        name: str,
        path: str,
        text: str,
        version: str | None,
        *,
        overwrite: bool = False,
        pipeline: str | None = None,
        trusted_paths: bool = False,
    ) -> CodeText:
        """Save ``text`` as code file ``path`` over ``version`` (None: a new file); a file that
        changed on disk since (or exists, for a new one) is refused unless ``overwrite``.
        ``trusted_paths`` (a save from the web): a ``pyproject.toml`` naming a local path that
        another user could change, which its old text did not name, is refused
        (``workspace.pyproject_trust``)."""
        relative = _code_name(path)
        content = _encoded(text, relative)
        _check_writable(relative, content)
        code = self._code(name, pipeline, editing=True)
        with _held(code):
            target = _target(code, relative)
            _check_version(target, relative, version, overwrite)
            if trusted_paths and relative.name == PYPROJECT:
                was = (
                    target.read_text(encoding="utf-8", errors="replace")
                    if target.is_file()
                    else None
                )
                check_saved_pyproject(text, was, target.parent)
            if relative == PurePosixPath(PARAMS):
                # checked again where the parameters are written, in the store's write
                # transaction that ``params set`` takes too
                based_on = None if overwrite or version is None else _params_version(target)
                NodeService(self.context).set_params(
                    name, replace_with=text, pipeline=pipeline, version=based_on
                )
            else:
                _make_folder(target.parent, relative)
                _save(target, content, lambda: _check_version(target, relative, version, overwrite))
            return _read(code, relative)

    def check_new(self, name: str, path: str, *, pipeline: str | None = None) -> None:
        """Refuse now what saving a new code file ``path`` would refuse (the app asks when the
        name is typed, before any text is): a name the app does not take or does not write,
        a node read-only here, a file or folder already there, a file where a folder would
        be."""
        relative = _code_name(path)
        _check_writable(relative, b"")
        target = _target(self._code(name, pipeline, editing=True), relative)
        _check_version(target, relative, None, overwrite=False)
        _check_folder(target.parent, relative)

    def rename(
        self, name: str, path: str, to: str, version: str, *, pipeline: str | None = None
    ) -> CodeText:
        """Rename code file ``path`` (at ``version``) to ``to``, a name no file has yet."""
        relative, destination = _kept_out(path), _new_name(to)
        _kept_out(to)
        code = self._code(name, pipeline, editing=True)
        with _held(code):
            source = _target(code, relative)
            _check_version(source, relative, version, overwrite=False)
            target = _target(code, destination)
            if target.exists():
                raise ChangedOnDiskError(f"{destination} already exists")
            _make_folder(target.parent, destination)
            crash_point("code.renaming")
            source.rename(target)
            fsync_dir(target.parent)
            if target.parent != source.parent:
                fsync_dir(source.parent)
            crash_point("code.renamed")
            return _read(code, destination)

    def delete(self, name: str, path: str, version: str, *, pipeline: str | None = None) -> None:
        """Delete code file ``path``, if it is still at ``version``."""
        relative = _kept_out(path)
        code = self._code(name, pipeline, editing=True)
        with _held(code):
            target = _target(code, relative)
            _check_version(target, relative, version, overwrite=False)
            crash_point("code.deleting")
            target.unlink()
            fsync_dir(target.parent)
            crash_point("code.deleted")


@contextmanager
def _held(code: Path) -> Iterator[None]:
    """Hold the node's ``code/`` for a save, rename or delete: the version is checked and the
    file written with no other such change, nor an environment edit (``env add``, ``env
    import``..., which hold the same folder lock while uv rewrites pyproject.toml), in between:
    a change made meanwhile is waited for, then found (``ChangedOnDiskError``), never
    overwritten."""
    from nodepipe.workspace.folder_locks import held_folders  # a save's: not a read command's

    with held_folders([code]):
        yield


def _params_version(target: Path) -> str | None:
    """The ``params_version`` of params.yaml as it is now (None: there is none)."""
    from nodepipe.domain.node_files import params_version

    try:
        return params_version(read_regular_text(target))
    except (FileNotFoundError, UnicodeDecodeError):  # none, or none the app could have read
        return None


def _kept_out(path: str) -> PurePosixPath:
    """``path`` as a code file name, unless it is one the node needs (refused)."""
    relative = _code_name(path)
    if str(relative) in KEPT:
        where = "the node's Environment" if str(relative) != PARAMS else "the Parameters tab"
        if relative == PurePosixPath("main.py"):
            raise InvalidInputError(
                "main.py is what the node runs: it cannot be renamed or deleted"
            )
        raise InvalidInputError(
            f"{relative} belongs to the node (change it in {where}): it cannot be renamed or "
            "deleted, nor made by renaming another file"
        )
    return relative


def _encoded(text: str, relative: PurePosixPath) -> bytes:
    """``text`` as the UTF-8 a code file holds; refused if it is not text, or holds what UTF-8
    cannot (a lone surrogate: a file name's undecodable byte pasted into it)."""
    if not isinstance(text, str):
        raise InvalidInputError(f"the text of {relative} is given as text, not {text!r:.80}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"the text of {relative} holds {text[exc.start : exc.end]!r}, which UTF-8 cannot "
            "encode (a code file is UTF-8)"
        ) from exc


def _new_name(path: str) -> PurePosixPath:
    """A name a file may newly take in ``code/``: not hidden, not an environment or a cache."""
    checked_name(path, "code file")
    if any(part.startswith(".") for part in path.split("/")):
        raise InvalidInputError(f"{path!r}: names starting with a dot are not code the app makes")
    if is_excluded_path(path):
        raise InvalidInputError(f"{path!r} is where environments and caches go, not code")
    return checked_name(path, "code file")


def _code_name(path: str) -> PurePosixPath:
    relative = checked_name(path, "code file")
    if is_excluded_path(path):
        raise NotFoundError(f"no code file {path!r} (environments and caches are not code)")
    return relative


def _read(code: Path, relative: PurePosixPath) -> CodeText:
    fd, found = open_inside(code, relative, "code file")
    with os.fdopen(fd, "rb") as handle:
        if found.st_size > MAX_EDITABLE:
            raise InvalidInputError(
                f"{relative} is {found.st_size:,} bytes, too large to edit in the app "
                f"(at most {MAX_EDITABLE:,})"
            )
        content = handle.read(MAX_EDITABLE + 1)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{relative} is not a text file (not UTF-8)") from exc
    editable = str(relative) not in WRITTEN_BY_NODEPIPE
    return CodeText(str(relative), text, version_of(content), editable)


def _check_writable(relative: PurePosixPath, content: bytes) -> None:
    if str(relative) in WRITTEN_BY_NODEPIPE:
        raise InvalidInputError(
            f"{relative} is written by nodepipe from the node's packages; change them in the "
            "node's Environment instead"
        )
    if len(content) > MAX_EDITABLE:
        raise InvalidInputError(
            f"{relative} would be {len(content):,} bytes, over {MAX_EDITABLE:,}"
        )
    if relative == PurePosixPath(PYPROJECT):
        try:
            tomllib.loads(content.decode("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInputError(f"{PYPROJECT} is not valid TOML: {exc}") from exc


def _target(code: Path, relative: PurePosixPath) -> Path:
    """Where ``relative`` is written: inside ``code/`` once its folder's links are resolved,
    and not itself a link (a save replaces a file, never what a link points at)."""
    parent = inside(code, relative.parent, "code folder") if relative.parent.parts else code
    target = parent / relative.name
    if target.is_symlink():
        raise InvalidInputError(f"code file {relative} is a symbolic link; edit what it links to")
    if target.exists() and not target.is_file():
        raise ConflictError(f"code file {relative} is a folder, not a file")
    return target


def _save(target: Path, content: bytes, still_at_version: Callable[[], None]) -> None:
    """Write ``content`` aside, flush it, check again that ``target`` is at the version read
    (``still_at_version`` raises if not: then nothing is replaced and nothing is left aside),
    rename it over ``target``. What an earlier save killed between those steps left beside the
    file (its hidden write-aside copy) goes first."""
    leftover = re.compile(rf"^\.{re.escape(target.name)}\.[0-9a-f]{{8}}\.tmp$")
    for entry in target.parent.iterdir():
        if leftover.match(entry.name) and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)

    mode = stat.S_IMODE(target.stat().st_mode) if target.is_file() else new_file_mode()  # +x kept

    def write(aside: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        with os.fdopen(os.open(aside, flags, 0o600), "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(content)
        crash_point("code.aside")
        still_at_version()

    write_aside(target, write)
    crash_point("code.saved")


def _make_folder(folder: Path, relative: PurePosixPath) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise _no_folder(relative) from exc


def _check_folder(folder: Path, relative: PurePosixPath) -> None:
    """Refuse what ``_make_folder`` would, making nothing: the nearest of ``folder`` and the
    folders above it that exists is not a folder."""
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise _no_folder(relative)


def _no_folder(relative: PurePosixPath) -> ConflictError:
    return ConflictError(f"code file {relative}: a file stands where a folder would be")


def _check_version(
    target: Path, relative: PurePosixPath, version: str | None, overwrite: bool
) -> None:
    if overwrite:
        return
    exists = target.is_file()
    if version is None and exists:
        raise ChangedOnDiskError(f"{relative} already exists")
    if version is not None and (not exists or version_of(target.read_bytes()) != version):
        raise ChangedOnDiskError(f"{relative} changed on disk since you opened it")
