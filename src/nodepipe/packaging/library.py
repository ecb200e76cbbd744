"""A node as an ordinary importable library: the build project of ``package build --library``.

```
<project>/pyproject.toml               name, version, summary, requires-python; the node's
                                       direct requirements as dependencies; hatchling
<project>/<module>/…                   the node's code/ (its modules are the package's modules;
                                       no pyproject.toml, uv.lock, .venv or caches)
<project>/<module>/__init__.py         the node's own, else a docstring
<project>/<module>/data/…              the node's outputs (--with-data), read with
                                       importlib.resources.files(<module>) / "data" / …
<project>/<module>/_nodepipe/uv.lock   the node's lock, and the fingerprint it was built from
<project>/<module>/_nodepipe/fingerprint
```
Whoever installs the wheel needs no nodepipe: it is a plain package. A requirement that uv
takes from a path or a git checkout (``[tool.uv.sources]``) cannot be a wheel's dependency, so
such a node is refused with the requirement named; so is a link in its code or outputs that
leads outside the node or to nothing (copied, it would publish a file of this machine that is
not the node's, or fail halfway).
"""

from __future__ import annotations

import os
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from nodepipe.packaging.errors import PackageError
from nodepipe.packaging.names import PackageNames
from nodepipe.packaging.project import BUILD_BACKEND
from nodepipe.workspace.node_folder import COPY_IGNORED

LIBRARY_META = "_nodepipe"
DATA_FOLDER = "data"
_LEFT_OUT = {"pyproject.toml", "uv.lock"}


@dataclass(frozen=True, slots=True)
class NodeSources:
    """What a library is made of: the node's code folder, its outputs, its fingerprint."""

    code: Path
    data: Path | None
    fingerprint: str


def node_requirements(code: Path) -> tuple[list[str], str | None]:
    """The direct requirements and requires-python of the node whose code folder is ``code``."""
    try:
        project_file: dict[str, Any] = tomllib.loads((code / "pyproject.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PackageError(f"cannot read the node's pyproject.toml: {exc}") from None
    project = project_file.get("project", {})
    sources = project_file.get("tool", {}).get("uv", {}).get("sources", {})
    local = {canonicalize_name(name) for name in sources}
    requirements = [str(r) for r in project.get("dependencies", [])]
    for text in requirements:
        if canonicalize_name(Requirement(text).name) in local:
            raise PackageError(
                f"the node's requirement {text!r} comes from a path or git source: a library "
                "wheel can only depend on packages of an index; publish it there first"
            )
    return requirements, project.get("requires-python")


def _refuse_stray_links(
    top: Path, what: str, ignored: Callable[[str, list[str]], set[str]]
) -> None:
    """PackageError naming the first link under ``top`` (the node's ``code`` or ``data``,
    ``ignored`` left out) that leads outside the node's folder or to nothing."""
    node = top.parent.resolve()
    for folder, dirs, files in os.walk(top):
        skipped = ignored(folder, [*dirs, *files])
        dirs[:] = sorted(d for d in dirs if d not in skipped)
        for name in sorted({*dirs, *files} - skipped):
            path = Path(folder, name)
            if not path.is_symlink():
                continue
            target, shown = path.resolve(), path.relative_to(top).as_posix()
            if not target.is_relative_to(node):
                raise PackageError(
                    f"the node's {what} {shown} is a link to {target}, outside the node: a "
                    "library carries the node's own files only; refused (put the file itself "
                    "there)"
                )
            if not target.exists():
                raise PackageError(
                    f"the node's {what} {shown} is a link to {target}, which does not exist; "
                    "refused (run the node again, or remove the link)"
                )


def write_library_project(
    project: Path, node: NodeSources, names: PackageNames, summary: str
) -> Path:
    """Lay out the build project of the library ``names`` in the new folder ``project``."""
    requirements, requires_python = node_requirements(node.code)
    package = project / names.module

    def ignored(folder: str, entries: list[str]) -> set[str]:
        skipped = set(COPY_IGNORED(folder, entries))
        return skipped | (_LEFT_OUT & set(entries) if Path(folder) == node.code else set())

    _refuse_stray_links(node.code, "code", ignored)
    if node.data is not None:
        _refuse_stray_links(node.data, "output", lambda folder, entries: set())
    shutil.copytree(node.code, package, ignore=ignored, symlinks=False)
    if not (package / "__init__.py").exists():
        (package / "__init__.py").write_text(
            f'"""{summary or names.dist} (a node built as a library by nodepipe)."""\n'
        )
    if node.data is not None:
        if (package / DATA_FOLDER).exists():
            raise PackageError(
                f"the node's code has its own {DATA_FOLDER!r}: its outputs would land there"
            )
        shutil.copytree(node.data, package / DATA_FOLDER, symlinks=False)
    meta = package / LIBRARY_META
    meta.mkdir()
    if (node.code / "uv.lock").is_file():
        shutil.copyfile(node.code / "uv.lock", meta / "uv.lock")
    (meta / "fingerprint").write_text(node.fingerprint + "\n")
    document: dict[str, Any] = {
        "build-system": BUILD_BACKEND,
        "project": {
            "name": names.dist,
            "version": names.version,
            "description": summary,
            "dependencies": requirements,
            **({"requires-python": requires_python} if requires_python else {}),
        },
        "tool": {"hatch": {"build": {"targets": {"wheel": {"packages": [names.module]}}}}},
    }
    (project / "pyproject.toml").write_text(tomlkit.dumps(document), encoding="utf-8")
    return project
