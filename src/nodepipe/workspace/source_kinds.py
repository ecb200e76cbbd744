"""Where a node installs each of its packages from, read from its ``code/pyproject.toml``.

A direct requirement comes from a package index (``pandas==2.2.3``), a git URL, another URL, a
local path (``env add --path``), a shared checkout (``--shared``), a library node
(``--from-node``) or a snapshot in ``code/snapshots/`` (``--snapshot``). uv keeps a package's
source when it is added again another way (a snapshot is a member of the node's uv workspace,
which uv always prefers), so ``env add`` needs to know the kind it replaces
(``services.envs.switches``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from packaging.requirements import InvalidRequirement, Requirement

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.requirements import requirement_name
from nodepipe.domain.staleness import SNAPSHOTS_DIR
from nodepipe.workspace.external_code import (
    LIBRARY,
    LOCAL_PATH,
    SHARED,
    library_nodes,
    local_projects,
)
from nodepipe.workspace.node_config import read_pyproject


class SourceKind(StrEnum):
    """The kinds of source of a package, in the words ``env show`` and messages use."""

    INDEX = "package index"
    GIT = "git URL"
    URL = "URL"
    LOCAL_PATH = LOCAL_PATH
    SHARED = SHARED
    LIBRARY = LIBRARY
    SNAPSHOT = "snapshot"
    WORKSPACE = "member of the node's uv workspace"
    """A project of ``code/`` outside ``code/snapshots/`` the user made a uv workspace member."""
    OTHER = "source of its own"
    """Several sources, each for some platforms (markers)."""


class Installed(NamedTuple):
    """How a node installs a package now; ``snapshot`` names the snapshot's folder."""

    kind: SourceKind
    snapshot: str | None = None


def requested_kind(requirement: str) -> SourceKind:
    """The kind of source ``env add REQUIREMENT`` asks for: a URL's, else an index."""
    try:
        url = Requirement(requirement).url
    except InvalidRequirement:  # a bare URL (validated before)
        url = requirement.strip()
    if url is None:
        return SourceKind.INDEX
    return SourceKind.GIT if url.startswith("git+") else SourceKind.URL


def installed_from(code: Path, package: str) -> Installed | None:
    """How node ``code`` installs ``package`` (a normalised name) now; None when it is no
    direct requirement and no snapshot of the node holds it."""
    wanted = requirement_name(package)
    snapshots = (code / SNAPSHOTS_DIR).resolve()
    for name, (folder, _) in local_projects(code).items():
        if requirement_name(name) == wanted and folder.parent == snapshots:
            return Installed(SourceKind.SNAPSHOT, folder.name)
    data = read_pyproject(code / "pyproject.toml", shared=True)
    requirements = data.get("project", {}).get("dependencies", [])
    if not any(
        isinstance(r, str) and requirement_name(r) == wanted
        for r in (requirements if isinstance(requirements, list) else [])
    ):
        return None
    kind = _source_kind(code, wanted, _sources(data))
    if kind is SourceKind.WORKSPACE:
        gone = _missing_snapshots(code, data)
        if len(gone) == 1 or wanted in gone:
            return Installed(SourceKind.SNAPSHOT, wanted if wanted in gone else gone[0])
    return Installed(kind)


def project_name(folder: Path) -> str | None:
    """The normalised name of the project in ``folder``, as its ``pyproject.toml`` says;
    None when it says none (a ``setup.py`` project) or cannot be read (uv says why)."""
    try:
        name = read_pyproject(folder / "pyproject.toml", shared=True).get("project", {})["name"]
    except (InvalidInputError, KeyError, TypeError, AttributeError):
        return None
    return requirement_name(name) if isinstance(name, str) and name else None


def url_kinds(code: Path) -> dict[str, SourceKind]:
    """Package -> ``GIT`` or ``URL``, for the node's packages installed from a URL."""
    found = {}
    for name, source in _sources(read_pyproject(code / "pyproject.toml", shared=True)).items():
        if isinstance(source, dict) and ("git" in source or "url" in source):
            found[requirement_name(name)] = SourceKind.GIT if "git" in source else SourceKind.URL
    return found


def _missing_snapshots(code: Path, data: dict[str, Any]) -> list[str]:
    """The snapshots the node's uv workspace names whose folder is gone (deleted by hand):
    which package each held is no longer known."""
    workspace = data.get("tool", {}).get("uv", {}).get("workspace", {})
    members = workspace.get("members", []) if isinstance(workspace, dict) else []
    prefix = f"{SNAPSHOTS_DIR}/"
    listed = members if isinstance(members, list) else []
    named = (str(m).removeprefix("./").rstrip("/") for m in listed)
    return sorted(
        name.removeprefix(prefix)
        for name in named
        if name.startswith(prefix)
        and "/" not in name.removeprefix(prefix)
        and not (code / name).is_dir()
    )


def _sources(data: dict[str, Any]) -> dict[str, Any]:
    sources = data.get("tool", {}).get("uv", {}).get("sources", {})
    return sources if isinstance(sources, dict) else {}


def _source_kind(code: Path, package: str, sources: dict[str, Any]) -> SourceKind:
    named = [source for name, source in sources.items() if requirement_name(name) == package]
    if not named:
        return SourceKind.INDEX
    source = named[0]
    if not isinstance(source, dict):
        return SourceKind.OTHER  # a list of sources, each for some platforms
    if "git" in source:
        return SourceKind.GIT
    if "url" in source:
        return SourceKind.URL
    if "path" in source:
        if package in {requirement_name(p) for p in library_nodes(code)}:
            return SourceKind.LIBRARY
        return SourceKind.SHARED if source.get("editable") else SourceKind.LOCAL_PATH
    if "index" in source:
        return SourceKind.INDEX
    return SourceKind.WORKSPACE if source.get("workspace") else SourceKind.OTHER
