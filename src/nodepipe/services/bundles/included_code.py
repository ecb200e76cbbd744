"""What an include installed in each of its nodes, so that an update can tell the user's edits.

``pipeline include``, an import of a bundle with includes and ``pipeline include --update``
write ``<node>/.included-code`` (beside ``code/``, not in it: ``code/`` is fingerprinted): each
file of the node's ``code/`` as installed, by the sha256 of its bytes and its mode (a link by
its target), every file but environments and caches (``.venv/``, ``.conda/``,
``__pycache__/``...: what ``COPY_IGNORED`` leaves out). It is stricter than the run's
fingerprint on purpose: a comment in ``params.yaml``, a ``.git/`` folder, an ``*.egg-info``, a
mode change are edits too. An update about to replace a node's code compares it with the node
as it is now: the same, the node was not edited here and its code is replaced; different,
someone edited it and the update is refused unless told to replace the edits, which it first
copies (the same files) to ``<node>/undone-edits/include-NS.<8 hex>/``. A node without the file
(included before nodepipe wrote it), or with one of an older format, cannot be told: its code
is copied the same way before it is replaced. A kept copy's name longer than a folder's may be
(a namespace of 64 emoji is 256 bytes) is shortened as an export names a node folder
(``bundles.paths.folder_name``: its first 200 bytes, ``-`` and 12 hex).

The file is written only once what it describes is in place (in the staged folder that moves
in whole, or after the store committed a swap, from the journal): a kill can leave a record
older than the code, never newer, and an old record only makes a node look edited.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodepipe.bundles.paths import folder_name
from nodepipe.envs.edits import UNDONE_EDITS, undone_edits_folder
from nodepipe.workspace.durable import fsync_dir, sync_filesystem, write_atomic
from nodepipe.workspace.included_record import INCLUDED_CODE, file_entry
from nodepipe.workspace.node_folder import COPY_IGNORED, COPY_IGNORED_NAMES, NodeFolder

_FILES = "files"
_FORMAT = "format"
FORMAT = 2
"""Records without it (format 1: the digests of the run's fingerprint) count as none."""


def code_record(folder: NodeFolder) -> dict[str, Any]:
    """Each file of ``folder``'s ``code/`` (but environments and caches) by the sha256 of its
    bytes and its mode; a link by its target (never followed)."""
    return {_FORMAT: FORMAT, _FILES: dict(sorted(_code_files(folder.code).items()))}


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in COPY_IGNORED_NAMES)


def _code_files(code: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for top, dirs, names in os.walk(code):
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        here = Path(top)
        for name in [*names, *(d for d in dirs if (here / d).is_symlink())]:
            if _ignored(name):
                continue
            path = here / name
            key = path.relative_to(code).as_posix()
            try:
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    files[key] = f"link:{path.readlink()}"
                elif stat.S_ISREG(info.st_mode):
                    files[key] = file_entry(path)
            except OSError:
                files[key] = "unreadable"
    return files


LIB_RECORDS = "included-libs"
"""In the workspace's ``.nodepipe/``: ``<lib id>.json``, the files of each lib (``libs/<id>/``,
a bundle's py-dir) as an include installed it; a lib is never changed by nodepipe once in
place (a changed py-dir becomes a new lib), so a difference is an edit made here."""


def lib_record(path: Path) -> dict[str, Any]:
    """The files of the lib at ``path``, as ``code_record`` has a node's code."""
    return {_FORMAT: FORMAT, _FILES: dict(sorted(_code_files(path).items()))}


def write_lib_record(workspace_state: Path, lib_id: str, path: Path) -> None:
    """Record what the lib ``lib_id`` holds now (staged, or found unchanged from the bundle)."""
    folder = workspace_state / LIB_RECORDS
    folder.mkdir(exist_ok=True)
    write_atomic(folder / f"{lib_id}.json", record_text(lib_record(path)))


def read_lib_record(workspace_state: Path, lib_id: str) -> dict[str, Any] | None:
    """What the lib ``lib_id`` held as installed; None when nothing recorded it (installed
    before nodepipe recorded libs); one matching nothing when it cannot be read."""
    path = workspace_state / LIB_RECORDS / f"{lib_id}.json"
    if not path.is_file():
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"unreadable": True}
    return found if isinstance(found, dict) else {"unreadable": True}


def keep_lib(path: Path, label: str, workspace_state: Path, scratch: Path) -> Path:
    """Copy the lib at ``path`` to ``<workspace>/.nodepipe/undone-edits/<label>.<8 hex>/``
    before an update removes it (as ``keep_code``)."""
    place = workspace_state / UNDONE_EDITS
    place.mkdir(exist_ok=True)
    fsync_dir(place.parent)
    target = place / folder_name(f"{label}.{short_digest(lib_record(path))}")
    if target.is_dir():
        return target
    building = scratch / target.name
    shutil.rmtree(building, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(path, building, ignore=COPY_IGNORED, symlinks=True)
    sync_filesystem(building)
    building.rename(target)
    fsync_dir(target.parent)
    return target


def record_text(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, indent=1) + "\n"


def short_digest(record: dict[str, Any]) -> str:
    """8 hex digits naming the code a record describes (a kept copy's name)."""
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:8]


def write_record(folder: NodeFolder, text: str, durable: bool = True) -> None:
    """Write a record (``record_text``) beside ``folder``'s code; ``durable=False`` in a staged
    folder, flushed with the rest of it."""
    write_atomic(folder.path / INCLUDED_CODE, text, durable=durable)


def read_record(folder: NodeFolder) -> dict[str, Any] | None:
    """The record of what was installed in ``folder``; None when there is none or it is of an
    older format (it cannot tell every edit). A record that cannot be read is returned as one
    matching no code: the node counts as edited."""
    path = folder.path / INCLUDED_CODE
    if not path.exists() and not path.is_symlink():
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"unreadable": True}
    if not isinstance(found, dict):
        return {"unreadable": True}
    return found if found.get(_FORMAT) == FORMAT else None


def edited_files(installed: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The files (relative to ``code/``) that differ between two records, sorted; every file
    when the installed record cannot be read."""
    if installed.get("unreadable"):
        return sorted(now.get(_FILES, {}))
    before, after = installed.get(_FILES, {}), now.get(_FILES, {})
    return sorted(p for p in {*before, *after} if before.get(p) != after.get(p))


@dataclass(frozen=True, slots=True)
class KeptCode:
    """A node's code copied before an update replaced it."""

    node: str
    path: Path
    edited: bool
    """True: it was edited since the include installed it; False: nothing recorded what was
    installed (an include made before nodepipe recorded it), so it could not be told."""
    dropped: bool = False
    """The bundle dropped the node: it was deleted (its code kept in the workspace's
    ``.nodepipe/undone-edits/``), not replaced."""


def keep_dropped_code(folder: NodeFolder, name: str, workspace_state: Path, scratch: Path) -> Path:
    """Copy the code of ``folder``, a node an update deletes (``name``: ``NS.key``), to
    ``<workspace>/.nodepipe/undone-edits/include-NS.key.<8 hex>/`` (``workspace_state``: the
    workspace's ``.nodepipe/``), where the node folder's deletion leaves it; as ``keep_code``."""
    place = workspace_state / UNDONE_EDITS
    place.mkdir(exist_ok=True)
    fsync_dir(place.parent)
    target = place / folder_name(f"include-{name}.{short_digest(code_record(folder))}")
    return _copy_code(folder, target, scratch)


def keep_code(folder: NodeFolder, namespace: str, scratch: Path) -> Path:
    """Copy ``folder``'s ``code/`` (the files ``code_record`` covers: never its environment or
    caches) to
    ``<node>/undone-edits/include-NS.<8 hex of its own code>/`` (where that folder cannot be:
    ``<node>/undone-include-NS.<8 hex>/``); the copy is built in ``scratch`` (a journal
    operation's folder: a kill leaves nothing half-copied beside the node), flushed, then
    renamed into place, so it is whole once it has its name. The same code kept again (an
    update done again after a kill) is kept once."""
    label = f"include-{namespace}.{short_digest(code_record(folder))}"
    place = undone_edits_folder(folder.code)
    if place is not None:
        target = place / folder_name(label)
    else:
        target = folder.path / folder_name(f"undone-{label}")
    return _copy_code(folder, target, scratch)


def _copy_code(folder: NodeFolder, target: Path, scratch: Path) -> Path:
    label = target.name
    if target.is_dir():
        return target
    building = scratch / folder_name(f"{folder.path.name}-{label}")
    shutil.rmtree(building, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(folder.code, building, ignore=COPY_IGNORED, symlinks=True)
    sync_filesystem(building)
    building.rename(target)
    fsync_dir(target.parent)
    return target
