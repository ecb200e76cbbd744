"""Snapshots: external code copied (or cloned) into a node's ``code/snapshots/<name>/``.

A snapshot is part of the node's code, so it is fingerprinted, copied with the node and
reproducible; ``[tool.nodepipe.snapshots]`` in pyproject.toml remembers where it came from so
it can be refreshed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import tomlkit
from tomlkit.items import Table

from nodepipe.domain.errors import InvalidInputError, NotFoundError
from nodepipe.domain.names import validate_name
from nodepipe.workspace.contained_paths import contained

SNAPSHOTS_DIR = "snapshots"
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
    target.parent.mkdir(parents=True, exist_ok=True)
    _fetch(origin, target)
    return target


def refresh_snapshot(code_dir: Path, origin: str, name: str) -> None:
    """Bring the snapshot up to date: ``git pull`` for a clone, a fresh copy otherwise.

    The snapshot's name comes from pyproject.toml: it is checked to name a folder inside
    ``code/snapshots/`` before anything is deleted."""
    target = snapshot_path(code_dir, name)
    if (target / ".git").is_dir():
        _git(["pull", "--ff-only"], cwd=target)
        return
    fresh = target.with_name(f".{name}.refresh")
    shutil.rmtree(fresh, ignore_errors=True)
    try:
        _fetch(origin, fresh)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
    fresh.rename(target)


def _fetch(origin: str, target: Path) -> None:
    source = Path(origin)
    if source.is_dir() and not (source / ".git").exists():
        shutil.copytree(source, target, ignore=_IGNORED, symlinks=True)
    elif source.is_dir() or origin.startswith(("http://", "https://", "git@", "ssh://", "file://")):
        _git(["clone", "--quiet", origin, str(target)], cwd=target.parent)
    else:
        raise InvalidInputError(f"cannot snapshot {origin!r}: not a folder nor a git URL")


def _git(args: list[str], cwd: Path) -> None:
    try:
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise InvalidInputError("git is needed to snapshot a repository") from exc
    except subprocess.CalledProcessError as exc:
        raise InvalidInputError(f"git {args[0]} failed: {exc.stderr.strip()}") from exc


def record_snapshot(pyproject: Path, name: str, origin: str) -> None:
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
    nodepipe = tool.setdefault("nodepipe", tomlkit.table())
    snapshots = nodepipe.setdefault("snapshots", tomlkit.table())
    snapshots[name] = origin
    pyproject.write_text(tomlkit.dumps(document), encoding="utf-8")


def recorded_snapshots(pyproject: Path) -> dict[str, str]:
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    section = document.get("tool", {}).get("nodepipe", {}).get("snapshots", {})
    return {str(k): str(v) for k, v in section.items()} if isinstance(section, Table) else {}


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
