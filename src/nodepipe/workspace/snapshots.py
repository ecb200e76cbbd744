"""Snapshots: external code copied (or cloned) into a node's ``code/snapshots/<name>/``.

A snapshot is part of the node's code, so it is fingerprinted, copied with the node and
reproducible; ``[tool.nodepipe.snapshots]`` in pyproject.toml remembers where it came from so
it can be refreshed. A clone's commit names the update in reasons ("snapshot mytool 1954bab →
15939cc"); a copy records the digests of what it copied (``.nodepipe-snapshot.json``, not
code) so that an update can tell the user's local edits apart and refuse to overwrite them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tomlkit
from tomlkit.items import Table

from nodepipe.domain.errors import Action, ConflictError, Hint, InvalidInputError, NotFoundError
from nodepipe.domain.model import Node
from nodepipe.domain.names import validate_name
from nodepipe.domain.staleness import SNAPSHOTS_DIR
from nodepipe.domain.url_credentials import without_credentials
from nodepipe.workspace.code_trees import CODE, SNAPSHOT_RECORD, is_excluded_path
from nodepipe.workspace.contained_paths import contained
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.file_digests import tree_digests
from nodepipe.workspace.layout import STATE_DIR_NAME
from nodepipe.workspace.node_folder import special_entries
from nodepipe.workspace.snapshot_git import (
    fast_forwarded,
    fetched,
    git,
    local_commits,
    refuse_diverged,
    reset_copy,
)

_IGNORED = shutil.ignore_patterns(".venv", "__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")


def snapshot_name(origin: str) -> str:
    name = origin.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    return validate_name(name, "snapshot name")


def snapshot_path(code_dir: Path, name: str) -> Path:
    """``code/snapshots/<name>``; InvalidInputError unless that is a real folder (or nothing)
    strictly inside ``code/snapshots/``, itself inside ``code/``."""
    snapshots = contained(code_dir, SNAPSHOTS_DIR, "the snapshots folder")
    return contained(snapshots, validate_name(name, "snapshot name"), "snapshot")


def take_snapshot(code_dir: Path, origin: str, name: str) -> Path:
    """Copy a local folder (or ``git clone`` a repository) into ``code/snapshots/<name>``."""
    target = snapshot_path(code_dir, name)
    if target.exists():
        raise InvalidInputError(f"the node already has a snapshot named {name!r}")
    made_parent = not target.parent.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _fetch(origin, target)
        check_python_project(target, origin)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        if made_parent:
            with contextlib.suppress(OSError):
                target.parent.rmdir()
        raise
    _record_copy(target)
    return target


def check_python_project(folder: Path, named: str) -> None:
    """``folder`` is a project uv can install (it has a ``pyproject.toml`` or ``setup.py``)."""
    if not any((folder / name).is_file() for name in ("pyproject.toml", "setup.py")):
        raise InvalidInputError(
            f"{named} is not a Python project (no pyproject.toml or setup.py): a folder of plain "
            "scripts goes on the node's import path as a code path instead"
        )


def _forget_credentials(clone: Path, origin: str) -> None:
    """A clone made from a URL with credentials keeps its remote without them (git wrote the
    URL as given into ``.git/config``)."""
    if (clone / ".git").is_dir() and without_credentials(origin) != origin:
        git(["remote", "set-url", "origin", without_credentials(origin)], cwd=clone)


def local_edits(code_dir: Path, name: str) -> list[str]:
    """Files of the snapshot changed in the node since it was taken or last updated: what git
    reports for a clone; for a copy, the difference from the digests recorded at copy time."""
    target = snapshot_path(code_dir, name)
    if (target / ".git").is_dir():
        status = git(["status", "--porcelain", "--untracked-files=all"], cwd=target)
        changed = (line[3:] for line in status.splitlines() if line.strip())
        return sorted(path for path in changed if not is_excluded_path(path))
    try:
        recorded = json.loads((target / SNAPSHOT_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # taken before copies were recorded: nothing to compare with
    current = tree_digests(target, CODE)
    if not isinstance(recorded, dict):
        return []
    return sorted(k for k in recorded.keys() | current.keys() if recorded.get(k) != current.get(k))


def refresh_paths(code_dir: Path, name: str, token: str) -> tuple[Path, Path]:
    """(the folder a fresh copy is made in, the folder the old snapshot is moved aside to) for
    an update of snapshot ``name``: the caller's edit journal removes the first and puts the
    second back if the update is undone, even after a kill. ``token`` (a few random hex
    digits) makes the second one this update's alone: an update killed once it had ended
    leaves it behind, and the journal's next look removes it (it is recorded as the
    operation's to discard) without ever touching the folder of another update."""
    target = snapshot_path(code_dir, name)
    return target.with_name(f".{name}.refresh"), target.with_name(f".{name}.previous.{token}")


@contextmanager
def refreshed_snapshot(
    code_dir: Path, origin: str, name: str, force: bool, node: Node, token: str
) -> Iterator[list[str]]:
    """Bring the snapshot up to date in the block, which gets what the update dropped (local
    edits and commits, listed when ``force`` discarded them). A clone is fast-forwarded to its
    upstream (reset to its old commit if the block raises); a fresh copy, or a clone whose
    upstream rewrote its history reset with ``force``, is made beside the old folder and
    swapped in, the old one left aside (``refresh_paths``) for the caller's journal to put
    back or remove.

    Local edits refuse the update (ConflictError listing them), and so does a clone whose
    history diverged from its upstream's (naming both revisions), unless ``force`` discards
    them. The snapshot's name comes from pyproject.toml: it is checked to name a folder inside
    ``code/snapshots/`` before anything is touched. ``node`` is named in hints;
    ``token`` is the update's (``refresh_paths``)."""
    target = snapshot_path(code_dir, name)
    edits = local_edits(code_dir, name)
    if edits and not force:
        raise ConflictError(
            f"snapshot {name} has local edits that an update would overwrite: "
            f"{', '.join(edits[:10])}{' …' if len(edits) > 10 else ''}; keep them elsewhere, "
            "or update anyway, discarding them",
            hint=Hint(Action.SNAPSHOT_RESET, {"node": node.id, "tag": node.tag, "snapshot": name}),
        )
    dropped = [f"edited {path}" for path in edits]
    fresh, aside = refresh_paths(code_dir, name, token)
    if (target / ".git").is_dir():
        where = fetched(target, name)
        if not where.diverged:
            with fast_forwarded(target, where, discard=bool(edits)):
                yield dropped
            return
        if not force:
            raise refuse_diverged(name, node, where)
        dropped = [f"commit {line}" for line in local_commits(target, where)] + dropped
        reset_copy(target, fresh, where)
    else:
        shutil.rmtree(fresh, ignore_errors=True)
        _fetch(origin, fresh)
        _record_copy(fresh)
    _swap_in(fresh, target, aside)
    yield dropped


def _swap_in(fresh: Path, target: Path, aside: Path) -> None:
    """``fresh`` in place of ``target``, which is moved to ``aside`` (the journal's to keep)."""
    shutil.rmtree(aside, ignore_errors=True)
    target.rename(aside)
    crash_point("snapshot.moved-aside")
    fresh.rename(target)
    crash_point("snapshot.swapped")


def _record_copy(target: Path) -> None:
    """Remember the digests of a copied snapshot's files, to tell local edits later."""
    if not (target / ".git").exists():
        write_atomic(target / SNAPSHOT_RECORD, json.dumps(tree_digests(target, CODE), indent=0))


def _fetch(origin: str, target: Path) -> None:
    source = Path(origin)
    if (source / STATE_DIR_NAME).is_dir():
        raise InvalidInputError(
            f"cannot snapshot {origin}: it is a nodepipe workspace (snapshot a package folder)"
        )
    if source.is_dir() and not (source / ".git").exists():
        from nodepipe.workspace.special_filesystems import check_regular_tree  # adding only

        check_regular_tree(Path(os.path.realpath(source)), origin)  # /proc: a copy never ends
        shutil.copytree(source, target, ignore=_left_out, symlinks=True)
    elif source.is_dir() or origin.startswith(("http://", "https://", "git@", "ssh://", "file://")):
        git(["clone", "--quiet", origin, str(target)], cwd=target.parent)
        _forget_credentials(target, origin)
    else:
        raise InvalidInputError(f"cannot snapshot {origin!r}: not a folder nor a git URL")


def _left_out(folder: str, names: list[str]) -> set[str]:
    """Environments and caches, any nodepipe workspace inside the folder (the one the
    snapshot is being copied into among them: the copy would never end), and what is no file,
    folder or link (a FIFO, a socket, a device: no code, the fingerprint never counts one,
    and a copy cannot be made of it)."""
    left_out = set(_IGNORED(folder, names))
    for name in set(names) - left_out:
        inside = Path(folder) / name
        if (inside / STATE_DIR_NAME).is_dir() and inside.is_dir():
            left_out.add(name)
    return left_out | special_entries(folder, names)


def record_snapshot(pyproject: Path, name: str, origin: str) -> None:
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
    nodepipe = tool.setdefault("nodepipe", tomlkit.table())
    snapshots = nodepipe.setdefault("snapshots", tomlkit.table())
    snapshots[name] = without_credentials(origin)
    pyproject.write_text(tomlkit.dumps(document), encoding="utf-8")


def forget_snapshot(pyproject: Path, name: str) -> None:
    """Take snapshot ``name`` out of ``pyproject``: its uv workspace member and its record in
    ``[tool.nodepipe.snapshots]`` (its folder is the caller's); the rest is kept as written."""
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    tool = document.get("tool", {})
    workspace = tool.get("uv", {}).get("workspace")
    members = workspace.get("members") if isinstance(workspace, dict) else None
    if isinstance(workspace, dict) and isinstance(members, list):
        wanted = f"{SNAPSHOTS_DIR}/{name}"
        for index in reversed(range(len(members))):
            if str(members[index]).removeprefix("./").rstrip("/") == wanted:
                del members[index]
        if not members and len(workspace) == 1:
            del tool["uv"]["workspace"]
    snapshots = tool.get("nodepipe", {}).get("snapshots")
    if isinstance(snapshots, dict) and name in snapshots:
        del snapshots[name]
        if not snapshots:
            del tool["nodepipe"]["snapshots"]
    write_atomic(pyproject, tomlkit.dumps(document))


def recorded_snapshots(pyproject: Path) -> dict[str, str]:
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    section = document.get("tool", {}).get("nodepipe", {}).get("snapshots", {})
    return {str(k): str(v) for k, v in section.items()} if isinstance(section, Table) else {}


def shown_snapshots(pyproject: Path) -> dict[str, str]:
    """``recorded_snapshots`` without credentials, for showing: a pyproject.toml written before
    they were left out may still hold a token."""
    return {name: without_credentials(o) for name, o in recorded_snapshots(pyproject).items()}


def forget_snapshot_credentials(pyproject: Path) -> None:
    """Rewrite ``[tool.nodepipe.snapshots]`` of ``pyproject`` (a copy being exported) without
    credentials; a file holding none is left untouched, byte for byte."""
    recorded = recorded_snapshots(pyproject) if pyproject.is_file() else {}
    cleaned = {name: without_credentials(origin) for name, origin in recorded.items()}
    if cleaned != recorded:
        for name, origin in cleaned.items():
            record_snapshot(pyproject, name, origin)


def snapshot_origin(pyproject: Path, name: str) -> str:
    snapshots = recorded_snapshots(pyproject)
    if name not in snapshots:
        known = ", ".join(snapshots) or "none"
        raise NotFoundError(f"no snapshot {name!r} in this node (snapshots: {known})")
    try:
        snapshot_path(pyproject.parent, name)
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"{exc}; fix that entry of [tool.nodepipe.snapshots] in {pyproject}"
        ) from exc
    return snapshots[name]
