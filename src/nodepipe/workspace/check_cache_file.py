"""The file of ``workspace.check_cache``: how it is read and written, and its entries' values.

One compact JSON file per OS user, ``.nodepipe/cache/node-checks-<uid>.json``: read at once
(one open and parse; a file per node would cost 10,000 opens), written atomically with
``durable=False`` (a cache is rebuilt if lost; a killed write leaves the previous file, and
the next write removes the copy it left beside it). JSON, not pickle or marshal: a file someone
else wrote can make a wrong entry at worst (each entry is checked against the files before use),
never run code or crash the interpreter. A file that is not a regular file of this user's, is
writable by others, is larger than ``MAX_BYTES``, or does not parse is ignored and replaced by
the next write. Concurrent writers: the last one wins; entries lost are checked again.

An entry keeps a node's settings as a list (``config_list``/``config_of``) and its fingerprint
as a list of ``NodeFingerprint.to_dict``'s values (``fingerprint_list``; ``kept_fingerprint``
reads it back).

Both this file and the kept facts' (``kept_facts``) name the nodepipe code that wrote them
(``code_identity``, below).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nodepipe.domain.staleness import FORMAT_VERSION, NodeFingerprint, ParentOutput
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import write_aside
from nodepipe.workspace.node_config import NodeConfig, Resources

MAX_BYTES = 256 * 1024 * 1024
"""A larger file is not read (about 25 KB a node would be far beyond any real entry)."""


def read_own(file: Path) -> Any:
    """The JSON value in ``file``; None when it is missing, foreign, too large or garbled."""
    try:
        # O_NONBLOCK: a FIFO planted there would hold the open until a writer came; O_NOCTTY:
        # a terminal device never becomes this process's own
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
        descriptor = os.open(file, flags)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        found = os.fstat(descriptor)
        if (
            not stat.S_ISREG(found.st_mode)
            or found.st_uid != os.geteuid()
            or found.st_mode & 0o022
            or found.st_size > MAX_BYTES
        ):
            return None
        try:
            return json.loads(handle.read(MAX_BYTES + 1))
        except (OSError, ValueError, RecursionError):
            return None


def write_own(file: Path, text: str, crash: str = "check_cache.aside") -> None:
    """Replace ``file`` with ``text``, readable by its owner only; skipped if it cannot be
    written (a cache). ``crash``: the crash point once the new file is written beside it."""
    with contextlib.suppress(OSError):
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_aside(file, lambda aside: _write_private(aside, text, crash), durable=False)
        _remove_leftovers(file)


def _write_private(path: Path, text: str, crash: str) -> None:
    """``text`` into the new file ``path``, readable by its owner only."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    with os.fdopen(os.open(path, flags, 0o600), "w", encoding="utf-8") as handle:
        handle.write(text)
    crash_point(crash)


def _remove_leftovers(file: Path) -> None:
    """Remove what killed writes of ``file`` left beside it (a write in flight in another
    process may go too: its cache is then not kept, nothing else)."""
    for leftover in file.parent.glob(f".{file.name}.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def fingerprint_list(fingerprint: NodeFingerprint) -> list[Any]:
    """A fingerprint as the file keeps it: ``to_dict``'s values in a fixed order, its parents as
    ``[slot, node, outputs]`` (a list of values parses in about two thirds of the time the same
    values take as objects, and 10,000 are parsed a ``status``)."""
    data = fingerprint.to_dict()
    lock, conda = data["lock"], data.get("conda")
    return [
        data["version"],
        data["digest"],
        data["entry"],
        data["code"],
        data["params"],
        data["params_digest"],
        lock["digest"],
        lock["packages"],
        [[slot, parent["node"], parent["outputs"]] for slot, parent in data["parents"].items()],
        data["revisions"],
        conda["digest"] if conda is not None else None,
        conda["packages"] if conda is not None else {},
    ]


def kept_fingerprint(
    kept: list[Any], parents: dict[str, ParentOutput]
) -> tuple[NodeFingerprint, bool]:
    """The kept fingerprint (``fingerprint_list``'s form) with ``parents``, and whether those
    are the parents it was kept with: read without ``from_dict``'s checks and copies, and its
    digest computed again only when the parents' outputs are not those it was kept with."""
    (
        version,
        digest,
        entry,
        code,
        params,
        params_digest,
        lock_digest,
        packages,
        was,
        revisions,
        conda_digest,
        conda_packages,
    ) = kept
    if version != FORMAT_VERSION:
        raise ValueError("another fingerprint format")
    if not (
        _all(str, digest, entry, params_digest)
        and _all(dict, code, params, packages, revisions, conda_packages)
        and isinstance(was, list)
        and isinstance(lock_digest, str | None)
        and isinstance(conda_digest, str | None)
    ):  # a file edited by hand, or by a bug: checked in full instead
        raise ValueError("a kept fingerprint of the wrong shape")
    ordered = dict(sorted(parents.items()))
    fingerprint = NodeFingerprint(
        code=code,
        params=params,
        params_digest=params_digest,
        lock_digest=lock_digest,
        packages=packages,
        entry=entry,
        parents=ordered,
        digest=digest,
        revisions=revisions,
        conda_digest=conda_digest,
        conda_packages=conda_packages,
    )
    same = was == [[slot, parent.node_id, parent.outputs] for slot, parent in ordered.items()]
    return (fingerprint, True) if same else (fingerprint.with_parents(parents), False)


def _all(kind: type, *values: object) -> bool:
    return all(isinstance(value, kind) for value in values)


def config_list(config: NodeConfig) -> list[Any]:
    """A node's settings as the file keeps them."""
    resources = config.resources
    return [
        config.entry,
        list(config.command) if config.command is not None else None,
        config.timeout,
        [resources.cpus, resources.gpus, resources.memory_bytes],
        config.shared_env,
        config.interpreter,
        list(config.pass_env),
    ]


def config_of(kept: list[Any]) -> NodeConfig:
    """The settings ``config_list`` kept (raises on a garbled list)."""
    entry, command, timeout, (cpus, gpus, memory), shared_env, interpreter, pass_env = kept
    return NodeConfig(
        entry=str(entry),
        command=tuple(str(part) for part in command) if command is not None else None,
        timeout=float(timeout) if timeout is not None else None,
        resources=Resources(float(cpus), float(gpus), int(memory) if memory is not None else None),
        shared_env=str(shared_env) if shared_env is not None else None,
        interpreter=str(interpreter) if interpreter is not None else None,
        pass_env=tuple(str(name) for name in pass_env),
    )


# Which code wrote a cache ---------------------------------------------------------------------
# The check cache and the kept facts name the code that decides their entries by the size and
# mtime of its modules' files, so that after an upgrade or an edit the next process rebuilds
# them. The identity must be the code *running*: a long-lived process (the web app, a fork
# server and its workers) that was upgraded under it runs the old code while the files are the
# new, so it must neither write its entries under the new code's name nor trust the new code's.

_PACKAGE = Path(__file__).resolve().parent.parent


def code_identity(modules: Sequence[str]) -> list[list[int]] | None:
    """The size and mtime of each of ``modules``' files; None (keep nothing across processes,
    work everything out) when the code running cannot be told by them: a file that cannot be
    looked at, or one changed (ctime, which cannot be set back) after nodepipe was loaded in
    this process (``nodepipe.LOADED_NS``, inherited by forked workers), or so close before it
    that the kernel's coarse clock cannot tell (``LOAD_MARGIN_NS``). A module imported is
    known by its ``__file__`` (the ``.pyc`` of a sourceless install); one not imported yet by
    the file beside the package (its ``.py``, else its ``.pyc``: looked at, not imported)."""
    # the package, loaded before any module of it (not imported by name: it is above this layer)
    loaded = getattr(sys.modules.get(_PACKAGE.name), "LOADED_NS", None)
    if not isinstance(loaded, int):  # a package loaded before it said when (an upgrade)
        return None
    found = []
    for name in modules:
        try:
            state = Path(_file_of(name)).stat()
        except (OSError, TypeError, ValueError):
            return None
        if state.st_ctime_ns > loaded - LOAD_MARGIN_NS:
            return None
        found.append([state.st_size, state.st_mtime_ns])
    return found


def code_digests(modules: Sequence[str]) -> list[str] | None:
    """The sha256 of each of ``modules``' files, when ``code_identity`` can tell the code
    running by them (None otherwise, or if one changed while it was read): what only their
    code decides can outlive an upgrade that left them as they were."""
    before = code_identity(modules)
    if before is None:
        return None
    try:
        files = [Path(_file_of(name)) for name in modules]
        digests = [hashlib.sha256(file.read_bytes()).hexdigest() for file in files]
    except (OSError, TypeError, ValueError):
        return None
    return digests if code_identity(modules) == before else None


LOAD_MARGIN_NS = 50_000_000
"""A file whose ctime is this close to the load may have changed just after it: a kernel
without fine-grained timestamps stamps a change with its clock tick (1-10 ms) before."""


def _file_of(name: str) -> str:
    module = sys.modules.get(name)
    where = getattr(module, "__file__", None) if module is not None else None
    if isinstance(where, str):
        return where
    source = _PACKAGE.joinpath(*name.split(".")[1:]).with_suffix(".py")
    return str(source if source.exists() else source.with_suffix(".pyc"))
