"""The local projects a node's environment installs from folders (``[tool.uv].sources`` with a
``path``, or members of its uv workspace): snapshots, shared checkouts, ``--path`` packages,
library nodes.

Their own ``pyproject.toml`` takes part in the node's lock (a requirement a snapshot gained
upstream must be locked before the node runs): ``member_requirements`` is what of them decides
the lock, ``member_files`` the files to watch for it. A package installed from a folder *not*
editable is a build of that folder: ``built_identity`` hashes the folders so that a changed
one is reinstalled at the next sync (``reinstalled``: uv's ``--reinstall-package``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.staleness import canonical_json, sha256_text
from nodepipe.workspace.external_code import local_projects
from nodepipe.workspace.file_digests import tree_digest
from nodepipe.workspace.node_config import read_pyproject

_PROJECT_KEYS = ("name", "version", "dependencies", "optional-dependencies", "requires-python")


def member_dirs(code_dir: Path) -> dict[str, tuple[Path, bool]]:
    """Package -> (its folder, installed editable) for every folder the node installs from."""
    return local_projects(code_dir)


def member_files(code_dir: Path) -> tuple[Path, ...]:
    """The pyproject.toml of each folder source (watched: an edit may need a relock)."""
    return tuple(folder / "pyproject.toml" for folder, _ in member_dirs(code_dir).values())


def member_requirements(code_dir: Path) -> dict[str, Any]:
    """Package -> what of its own pyproject decides the node's lock (None: unreadable)."""
    found: dict[str, Any] = {}
    for name, (folder, _) in member_dirs(code_dir).items():
        try:
            project = read_pyproject(folder / "pyproject.toml", shared=True).get("project", {})
        except InvalidInputError:  # missing or malformed: uv says so when it locks
            found[name] = None
            continue
        found[name] = {key: project.get(key) for key in _PROJECT_KEYS}
    return found


def reinstalled(code_dir: Path) -> list[str]:
    """``--reinstall-package`` arguments for every package built from a folder (not editable):
    uv would otherwise keep the build it cached, however the folder changed."""
    args = []
    for name, (_, editable) in member_dirs(code_dir).items():
        if not editable:
            args += ["--reinstall-package", name]
    return args


def built_identity(code_dir: Path, members: dict[str, tuple[Path, bool]] | None = None) -> str:
    """One hash of the files of every folder the node installs not editable ("" if none);
    ``members``: its ``member_dirs`` when the caller just read them."""
    members = member_dirs(code_dir) if members is None else members
    built = {name: tree_digest(path) for name, (path, editable) in members.items() if not editable}
    return sha256_text(canonical_json(built)) if built else ""
