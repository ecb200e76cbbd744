"""Recording what a node run starts with, and reading it back (DESIGN.md §3).

``record_environment`` runs where the node runs, after its environment was checked against
its lock and before its process starts: every file of ``code/`` (the lock and ``params.yaml``
included) goes into the object store unless its content is there already, then the manifest
naming them; the interpreter's version comes from the environment's ``pyvenv.cfg`` and the
platform from this machine. A run of many nodes with the same code and lock stores nothing
new: each file costs a ``stat``. New contents are flushed to disk in one call before the
record is handed back, so the store never names a content a power cut could lose.

``read_manifest`` reads a record's manifest back, checked; ``write_code`` writes the files it
names into a new ``code/`` folder; ``damaged_record`` tells a damaged content met on the way
as damage of that record, naming the run and the node.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import sysconfig
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nodepipe.domain.environments import (
    LOCK_FILES,
    PLAIN_MODE,
    CodeManifest,
    RunEnvironment,
    is_sha256,
    restorable_mode,
)
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.staleness import canonical_json
from nodepipe.workspace.code_trees import Tree, code_files
from nodepipe.workspace.durable import sync_filesystem
from nodepipe.workspace.file_state import file_state_or_none, real_path, stat_numbers
from nodepipe.workspace.kept_facts import facts_for, now_ns, settled
from nodepipe.workspace.objects import DamagedObjectError, MissingObjectError, ObjectStore

VENV_PYTHON = ".venv/bin/python"
_RECORD_FACT = "recorded"
"""The kind of ``kept_facts`` entry a record keeps, by ``code/`` folder."""


def record_environment(
    code: Path,
    objects: ObjectStore,
    known: Mapping[str, str],
    python: str | None = None,
    existing_version: str | None = None,
    code_tree: Tree | None = None,
) -> RunEnvironment:
    """Store ``code``'s files and manifest; the environment record naming them.

    ``known`` maps paths to the digests the run's fingerprint saw moments ago: a content
    already stored under that digest is not read again. ``python`` is the program the node is
    launched with: its own environment's interpreter (the default), a shared environment's, an
    existing interpreter, or a command of its own (its version is then the node
    environment's). ``existing_version`` is the version of an existing interpreter the node
    runs with (``env interpreter``; not isolated): its uv lock is then not what it ran with
    (nothing installs it there), so the record names no uv lock (the file stays in the code).
    ``code_tree``: ``code`` walked just now as fingerprints walk it (``CODE``); without a
    symbolic link in it, that is the walk a record makes.
    """
    launched = Path(python) if python else code / VENV_PYTHON
    facts, states = None, list[Any]()
    if code_tree is not None and not code_tree.linked and not code_tree.hard_linked():
        facts = facts_for(str(code.parent))
    if facts is not None and code_tree is not None:
        states = _record_states(code, launched, existing_version, code_tree)
        kept = _kept_record(facts.get(_RECORD_FACT, str(code), states), objects)
        if kept is not None:
            return _environment(*kept, launched, existing_version)
    began = now_ns()
    if code_tree is not None and not code_tree.linked:
        files, links = code_tree.files, code_tree.links
    else:
        files, links = code_files(code)
    digests: dict[str, str] = {}
    written = False
    folder = str(code)
    for relative in files:
        digest, new = objects.put_file(f"{folder}/{relative}", known.get(relative))
        digests[relative] = digest
        written = written or new
    manifest = CodeManifest(digests, links, code_modes(files))
    manifest_digest, new = objects.put_bytes(canonical_json(manifest.to_dict()).encode())
    if written or new:
        sync_filesystem(objects.root)
    version = (
        existing_version or venv_python_version(launched) or venv_python_version(code / VENV_PYTHON)
    )
    if facts is not None:
        stamps = [stamp for found in files.values() for stamp in _stamps(found)]
        stamps += [stamp for state in states[1:3] if state is not None for stamp in state[1:3]]
        if settled(stamps, began):
            facts.put(_RECORD_FACT, str(code), states, [digests, manifest_digest, version])
    return _environment(digests, manifest_digest, version, launched, existing_version)


def _environment(
    digests: Mapping[str, str],
    manifest_digest: str,
    version: str,
    launched: Path,
    existing_version: str | None,
) -> RunEnvironment:
    """The record of a run whose code files have ``digests`` (the manifest ``manifest_digest``
    names them) and whose interpreter is of ``version``."""
    locks = {kind: digests[name] for kind, name in LOCK_FILES.items() if name in digests}
    if existing_version is not None:
        locks.pop("uv", None)
    return RunEnvironment(
        version, this_platform(), manifest_digest, locks, interpreter=_resolved(launched)
    )


def _stamps(found: os.stat_result) -> tuple[int, int]:
    return found.st_mtime_ns, found.st_ctime_ns


def _record_states(
    code: Path, launched: Path, existing_version: str | None, tree: Tree
) -> list[Any]:
    """What a record of ``code`` is read from, as ``kept_facts`` compares it: the program
    launched and the existing interpreter's version, the state of each ``pyvenv.cfg`` the
    version may come from (with their mtime and ctime at 1 and 2), then each file of the walk
    ``tree`` (path, size, mtime, ctime, inode, device, mode) and each link with its target."""
    states: list[Any] = [[str(launched), existing_version]]
    if existing_version is not None:
        states += [None, None]
    else:
        states.append(_venv_state(launched))
        own = code / VENV_PYTHON
        states.append(states[1] if own == launched else _venv_state(own))
    for relative, found in tree.files.items():
        states.append([relative, *stat_numbers(found)])
    states.extend([relative, target] for relative, target in tree.links.items())
    return states


def _venv_state(python: Path) -> list[Any] | None:
    """The state of the ``pyvenv.cfg`` of ``python``'s environment: path, mtime, ctime, size,
    inode (None when there is none)."""
    state = file_state_or_none(python.parent.parent / "pyvenv.cfg")
    return None if state is None else [state[0], state[1], state[4], state[2], state[3]]


def _kept_record(kept: Any, objects: ObjectStore) -> tuple[dict[str, str], str, str] | None:
    """A kept record's (file digests, manifest digest, interpreter version), if it has that
    shape and every content it names is still stored (each touched, as a put would: a
    collection leaves them); None otherwise (record in full)."""
    if not isinstance(kept, list) or len(kept) != 3:
        return None
    digests, manifest_digest, version = kept
    if (
        not isinstance(digests, dict)
        or not isinstance(manifest_digest, str)
        or not isinstance(version, str)
        or not all(isinstance(v, str) and is_sha256(v) for v in digests.values())
        or not is_sha256(manifest_digest)
    ):
        return None
    if not objects.keep(manifest_digest) or not all(objects.keep(d) for d in digests.values()):
        return None
    return digests, manifest_digest, version


def code_modes(files: Mapping[str, os.stat_result]) -> dict[str, int]:
    """The permission bits a code manifest names: those of files not plain ``0644``."""
    modes = {relative: restorable_mode(stat.st_mode) for relative, stat in files.items()}
    return {relative: mode for relative, mode in sorted(modes.items()) if mode != PLAIN_MODE}


def known_digests(fingerprint_json: str) -> dict[str, str]:
    """The code digests a run's fingerprint (its JSON) saw, the lock's included."""
    try:
        data = json.loads(fingerprint_json)
        known = {str(k): str(v) for k, v in data["code"].items()}
        lock = data["lock"]["digest"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}
    if isinstance(lock, str):
        known[LOCK_FILES["uv"]] = lock
    conda = data.get("conda", {}).get("digest") if isinstance(data.get("conda"), dict) else None
    if isinstance(conda, str):
        known[LOCK_FILES["conda"]] = conda
    return known


@contextmanager
def damaged_record(node: str, run_id: str) -> Iterator[None]:
    """A damaged content read inside, told as damage of what run ``run_id`` recorded of node
    ``node`` (a StorageError: the workspace's stored record, not the user's input)."""
    try:
        yield
    except DamagedObjectError as exc:
        raise DamagedObjectError(
            f"what run {run_id} recorded of node {node!r} is damaged and cannot be used "
            f"(nothing was changed): {exc}; restore another run of {node!r}, or run it again "
            "to record it anew"
        ) from exc


def read_manifest(objects: ObjectStore, environment: RunEnvironment) -> CodeManifest:
    """The code manifest a record names; MissingObjectError when it cannot be read back."""
    raw = objects.read(environment.code, "code manifest")
    try:
        return CodeManifest.from_dict(json.loads(raw))
    except ValueError as exc:
        raise MissingObjectError(
            f"the stored code manifest {environment.code[:12]}: {exc}"
        ) from exc


def write_code(code: Path, manifest: CodeManifest, objects: ObjectStore) -> None:
    """Write every file and link of ``manifest`` under the new folder ``code``, each file with
    the permission bits it was recorded with (created so: a private file is never readable by
    others, even for a moment); nothing is written outside it (InvalidInputError for a path
    that would lead out)."""
    code.mkdir(parents=True)
    for relative, digest in sorted(manifest.files.items()):
        _inside(code, relative).parent.mkdir(parents=True, exist_ok=True)
        mode = manifest.modes.get(relative, PLAIN_MODE)
        objects.copy_to(digest, code / relative, mode, name=relative)
    for relative, target in sorted(manifest.links.items()):
        _inside(code, relative).parent.mkdir(parents=True, exist_ok=True)
        (code / relative).symlink_to(target)


def _inside(code: Path, relative: str) -> Path:
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or ".." in parts:
        raise InvalidInputError(f"the stored code names {relative!r}, not a path inside code/")
    return code / relative


@functools.cache
def this_platform() -> str:
    """This machine's platform as wheels see it, with its C library: ``linux-x86_64 glibc
    2.36``."""
    libc, version = platform.libc_ver()
    return f"{sysconfig.get_platform()} {libc} {version}".strip()


def venv_python_version(python: Path) -> str:
    """The version of the interpreter a virtual environment's ``python`` was made with, from
    the environment's ``pyvenv.cfg`` ("" if it is in none); nothing is run."""
    try:
        text = (python.parent.parent / "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return ""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key.strip()] = value.strip()
    return found.get("version_info") or found.get("version") or ""


def _resolved(python: Path) -> str:
    """The interpreter's real path (a virtual environment's links followed to the Python it
    was made from; one named without a folder found on ``PATH``); "" if there is none."""
    found = shutil.which(python) if python.parent == Path() else str(python)
    if found is None or not Path(found).exists():
        return ""
    return real_path(found)
