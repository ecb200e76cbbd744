"""Where each of a node's requirements comes from, for ``env show``: the node itself, its
pipeline's base packages, a snapshot, a shared checkout, a local path, a library node, a git
URL or another URL."""

from __future__ import annotations

from pathlib import Path

from nodepipe.domain.requirements import requirement_name
from nodepipe.domain.staleness import SNAPSHOTS_DIR
from nodepipe.workspace.external_code import LIBRARY, external_code, local_projects
from nodepipe.workspace.node_project import base_names, dependencies
from nodepipe.workspace.snapshots import recorded_snapshots
from nodepipe.workspace.source_kinds import url_kinds

OWN = "node"
BASE = "pipeline base"
SNAPSHOT = "snapshot"


def requirement_origins(code: Path, library_tags: dict[str, str] | None = None) -> dict[str, str]:
    """Each direct requirement's package -> where it comes from: the node itself, its
    pipeline's base, a snapshot, a shared checkout, a local path, a library node, a git URL or
    another URL."""
    pyproject = code / "pyproject.toml"
    from_base = base_names(pyproject)
    origins = {}
    for requirement in dependencies(pyproject):
        name = requirement_name(requirement)
        origins[name] = BASE if name in from_base else OWN
    external = {requirement_name(item.name): item for item in external_code(code)}
    snapshots = _snapshot_packages(code, set(recorded_snapshots(pyproject)))
    urls = url_kinds(code)
    for name in origins:
        if name in external:
            item = external[name]
            origins[name] = item.kind
            if item.kind == LIBRARY and library_tags and name in library_tags:
                origins[name] = f"{LIBRARY} {library_tags[name]}"
        elif name in snapshots:
            origins[name] = SNAPSHOT
        elif name in urls:
            origins[name] = urls[name].value
    return origins


def _snapshot_packages(code: Path, snapshots: set[str]) -> set[str]:
    """Packages installed from a folder under ``code/snapshots/``."""
    inside = (code / SNAPSHOTS_DIR).resolve()
    return {
        requirement_name(package)
        for package, (folder, _) in local_projects(code).items()
        if folder.parent == inside and folder.name in snapshots
    }
