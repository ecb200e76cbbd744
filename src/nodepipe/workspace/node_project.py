"""Edits of a node's ``code/pyproject.toml`` that keep the user's formatting and comments."""

from __future__ import annotations

from pathlib import Path

import tomlkit
from tomlkit.items import Array, Table


def set_dependencies(pyproject: Path, requirements: list[str]) -> None:
    """Replace ``[project] dependencies`` with ``requirements`` (PEP 508 strings)."""
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    project = document["project"]
    assert isinstance(project, Table)
    array = tomlkit.array()
    array.extend(requirements)
    array.multiline(len(requirements) > 1)
    project["dependencies"] = array
    pyproject.write_text(tomlkit.dumps(document), encoding="utf-8")


def dependencies(pyproject: Path) -> list[str]:
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    project = document.get("project", {})
    found = project.get("dependencies", []) if isinstance(project, Table) else []
    return [str(item) for item in found] if isinstance(found, Array | list) else []


def set_requires_python(pyproject: Path, specifier: str) -> None:
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    project = document["project"]
    assert isinstance(project, Table)
    project["requires-python"] = specifier
    pyproject.write_text(tomlkit.dumps(document), encoding="utf-8")
