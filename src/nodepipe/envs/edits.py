"""Edits of environment projects, all or nothing, even when the process is killed midway.

An edit (``env add``, ``remove``, ``lock``, ``python``, ``conda add``, a pipeline's base packages
across many nodes) changes ``pyproject.toml``, ``uv.lock``, ``.python-version`` and ``conda.lock``
together, mostly through
uv, which rewrites them one after the other. Before anything is touched, the files of every
project to edit are copied into an operation of the workspace journal (flushed to disk, each
project's copies completed by a manifest written last). If the edit fails they are put back at
once; if the process dies, the next nodepipe command finds the operation abandoned and puts them
back (``recover_edit``). Paths the edit creates (a snapshot's folder) are named beforehand and
removed on the way back; folders it moves aside (a snapshot being replaced) are put back. On
success the edited files are flushed before the operation ends. Two edits of the same project
take turns (``workspace.folder_locks``): one never saves, nor puts back, files the other is
changing.

Between a killed edit and the next command, the user may have edited those files by hand (a
power cut, then the editor first): what the next command finds there may be theirs, not the
edit's. So recovering keeps each file it replaces that differs from the saved copy, with its
permissions: beside a node's ``code/`` (``<node>/undone-edits/code-pyproject.toml.<digest>``,
so the node is not changed by it), in a shared environment's own folder; nothing is lost
whoever wrote it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from nodepipe.workspace import journal
from nodepipe.workspace.crash_points import crash_point, pause_point
from nodepipe.workspace.durable import fsync_dir, fsync_file, write_atomic

PROJECT_FILES = ("pyproject.toml", "uv.lock", ".python-version", "conda.lock")
UNDONE_EDITS = "undone-edits"
"""Beside a project's folder: what recovering a killed edit found in the files it put back."""
EDIT_KIND = "environment-edit"
_MANIFEST = "saved.json"


class ProjectBackup:
    """Copies of projects' files in a folder, each project's completed by a manifest."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, index: int, code_dir: Path) -> None:
        """Copy ``code_dir``'s project files (flushed, with their times), then the manifest
        saying which existed."""
        target = self.folder / str(index)
        target.mkdir()
        present = []
        for name in PROJECT_FILES:
            source = code_dir / name
            if source.exists():
                write_atomic(target / name, source.read_bytes())
                times = source.stat()
                os.utime(target / name, ns=(times.st_atime_ns, times.st_mtime_ns))
                present.append(name)
        manifest = {"code_dir": str(code_dir), "present": present}
        write_atomic(target / _MANIFEST, json.dumps(manifest))

    def restore(self, keep_found: bool = False) -> None:
        """Put back every completely saved project (a project saved only in part was not yet
        edited: its manifest is missing). ``keep_found``: each file replaced that differs
        from its saved copy is kept first (``UNDONE_EDITS``)."""
        for saved in sorted(self.folder.iterdir()) if self.folder.is_dir() else ():
            manifest = _manifest(saved / _MANIFEST)
            if manifest is not None:
                code_dir, present = manifest
                _put_back(saved, code_dir, present, keep_found)


@contextmanager
def all_or_nothing(
    journal_dir: Path,
    code_dirs: Sequence[Path],
    creates: Sequence[Path] = (),
    moved: Sequence[tuple[Path, Path]] = (),
    kept: Sequence[tuple[Path, Path]] = (),
) -> Iterator[None]:
    """Edit the projects in ``code_dirs`` in the block: all of it stays, or none of it.

    ``creates`` names paths the block may create; those that do not exist yet are removed if
    the edit is undone (what was there before is never removed). ``moved`` names (path, aside)
    pairs: the block may move a folder aside (a snapshot being replaced); undoing puts it
    back, success removes the aside copy once the operation has ended (a kill then never
    undoes the edit). ``kept`` names (path, place) pairs: the block may move a folder to
    ``place`` (a snapshot moved out to ``UNDONE_EDITS``, see ``undone_place``); undoing puts
    it back, success leaves it there.
    """
    # another edit of these projects waits (``folder_locks``); what exists is looked at after
    from nodepipe.workspace.folder_locks import held_folders  # not on a read command's start

    with held_folders(code_dirs), _operation(journal_dir, code_dirs, creates, moved, kept):
        yield


@contextmanager
def _operation(
    journal_dir: Path,
    code_dirs: Sequence[Path],
    creates: Sequence[Path],
    moved: Sequence[tuple[Path, Path]],
    kept: Sequence[tuple[Path, Path]],
) -> Iterator[None]:
    """``all_or_nothing`` once its projects are held."""
    creates = [p for p in creates if not (p.exists() or p.is_symlink())]
    intent = {
        "creates": [str(p) for p in creates],
        "moved": [[str(a), str(b)] for a, b in moved],
        "kept": [[str(a), str(b)] for a, b in kept],
    }
    with journal.operation(journal_dir, EDIT_KIND, **intent) as op:
        backup = ProjectBackup(op.folder / "projects")
        backup.folder.mkdir()
        for index, code_dir in enumerate(code_dirs):
            backup.save(index, code_dir)
        crash_point("edit.saved")
        pause_point("edit.saved")  # tests: another edit of the project starts here
        try:
            yield
            crash_point("edit.edited")
            for code_dir in code_dirs:
                _flush_project(code_dir)
            for path, place in kept:
                if place.exists():
                    fsync_dir(place.parent)
                    fsync_dir(path.parent)
        except BaseException as error:
            backup.restore()
            _put_back_moved([*moved, *kept])
            _remove_created(creates)
            from nodepipe.envs.uv import UvStoppedError  # only when an edit fails

            if isinstance(error, UvStoppedError) and not error.undone:
                raise error.when_undone() from error
            raise
        op.discard.extend(aside for _, aside in moved)


def recover_edit(operation: journal.Operation) -> None:
    """Undo the edit of an abandoned operation (its process died before it ended), keeping
    what is found in the files it replaces (it may be the user's, written since)."""
    ProjectBackup(operation.folder / "projects").restore(keep_found=True)
    pairs = [*operation.intent.get("moved", []), *operation.intent.get("kept", [])]
    _put_back_moved([(Path(a), Path(b)) for a, b in pairs])
    _remove_created([Path(p) for p in operation.intent.get("creates", [])])


def _put_back(saved: Path, code_dir: Path, present: list[str], keep_found: bool) -> None:
    """The saved files back in ``code_dir`` with their times (those it had not, removed): a
    refused edit leaves the project as it found it, to an editor or ``make`` too (a file the
    edit left as it was is not written again). With ``keep_found``, each file there that is not as
    saved is first kept beside it, named by its content (a recovery killed and done again
    keeps it once)."""
    for name in PROJECT_FILES:
        path = code_dir / name
        before = (saved / name).read_bytes() if name in present else None
        now = path.read_bytes() if path.is_file() else None
        if keep_found and now is not None and now != before:
            _keep_found(code_dir, name, now, path.stat().st_mode & 0o7777)
        if before is not None:
            if now != before:
                write_atomic(path, before)
            times = (saved / name).stat()  # uv puts back what it edited, with a new time
            os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
        elif path.exists():
            path.unlink()
    fsync_dir(code_dir)


def _keep_found(code_dir: Path, name: str, content: bytes, mode: int) -> None:
    """``content`` of ``code_dir``'s file ``name``, with its permissions, kept where
    ``undone_place`` says, named by its digest (a recovery done twice keeps it once). OSError
    if it cannot be written: the file is then not replaced, and the next command tries
    again."""
    digest = hashlib.sha256(content).hexdigest()[:8]
    beside = code_dir / f"{name}.undone-{digest}"
    place = undone_place(code_dir, f"{code_dir.name}-{name}.{digest}", beside)
    try:
        write_atomic(place, content, mode=mode)
    except IsADirectoryError:
        write_atomic(beside, content, mode=mode)


def undone_place(code_dir: Path, kept: str, beside: Path) -> Path:
    """Where what is taken out of project ``code_dir`` is kept, named ``kept``: in
    ``UNDONE_EDITS`` beside a node's ``code/`` (inside any other project's folder), which is
    made if need be, outside the code (not fingerprinted, never removed by nodepipe); where
    that folder cannot be (something else has its name), ``beside`` (next to what is kept)."""
    folder = undone_edits_folder(code_dir)
    return beside if folder is None else folder / kept


def undone_edits_folder(code_dir: Path) -> Path | None:
    """``UNDONE_EDITS`` beside a node's ``code_dir`` (inside any other project's folder),
    made (and its making flushed) if it is missing; None where it cannot be: something else
    has its name (a file, a link). The caller then keeps what it keeps beside the thing
    itself. OSError if the folder cannot be made for another reason."""
    folder = (code_dir.parent if code_dir.name == "code" else code_dir) / UNDONE_EDITS
    if folder.is_symlink():
        return None
    if folder.is_dir():
        return folder
    try:
        folder.mkdir()
    except FileExistsError:
        if folder.is_dir() and not folder.is_symlink():  # made meanwhile by another command
            return folder
        return None
    except NotADirectoryError:
        return None
    fsync_dir(folder.parent)
    return folder


def _manifest(path: Path) -> tuple[Path, list[str]] | None:
    """(the project's folder, the files it had) from a saved project's manifest."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        return Path(found["code_dir"]), [str(name) for name in found["present"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _flush_project(code_dir: Path) -> None:
    for name in PROJECT_FILES:
        if (code_dir / name).is_file():
            fsync_file(code_dir / name)
    fsync_dir(code_dir)


def _put_back_moved(moved: Sequence[tuple[Path, Path]]) -> None:
    """Each folder moved aside back in its place. What is found in its place (the edit's new
    copy, or what the user made there after a kill) is kept, never removed: moved to the
    project's ``undone-edits/`` as ``found-NAME.<8 hex>``."""
    for path, aside in moved:
        if aside.exists():
            if path.exists() or path.is_symlink():
                _keep_in_the_way(path)
            aside.rename(path)


def _keep_in_the_way(path: Path) -> None:
    code_dir = next((p for p in path.parents if p.name == "code"), path.parent)
    token = os.urandom(4).hex()  # not secrets: it imports random, not for a run
    beside = path.with_name(f"{path.name}.undone-{token}")
    place = undone_place(code_dir, f"found-{path.name}.{token}", beside)
    path.rename(place)
    fsync_dir(place.parent)
    fsync_dir(path.parent)


def _remove_created(paths: Sequence[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()
