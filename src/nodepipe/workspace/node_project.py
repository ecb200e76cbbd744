"""Edits of a node's ``code/pyproject.toml`` that keep the user's formatting and comments.

Each edit is flushed to disk before it returns, except with ``durable=False``: for a folder
still being staged, whose files are all flushed at once before it is published
(``services.graph.staged_folders``).
"""

from __future__ import annotations

from pathlib import Path

import tomlkit
from tomlkit.items import AbstractTable, Array, Table

from nodepipe.domain.requirements import requirement_name
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.node_config import read_pyproject, script_dependencies


def set_dependencies(pyproject: Path, requirements: list[str], *, durable: bool = True) -> None:
    """Replace ``[project] dependencies`` with ``requirements`` (PEP 508 strings)."""
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    project = document["project"]
    assert isinstance(project, Table)
    array = tomlkit.array()
    array.extend(requirements)
    array.multiline(len(requirements) > 1)
    project["dependencies"] = array
    write_atomic(pyproject, tomlkit.dumps(document), durable=durable)


def dependencies(pyproject: Path) -> list[str]:
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    project = document.get("project", {})
    found = project.get("dependencies", []) if isinstance(project, Table) else []
    return [str(item) for item in found] if isinstance(found, Array | list) else []


def forget_requirement(pyproject: Path, package: str) -> None:
    """Take ``package`` out of ``[project] dependencies`` and ``[tool.uv.sources]`` (the rest
    as written, comments too): what a new ``uv add`` of it then writes is as if it was never
    there (uv keeps an existing source and version range otherwise)."""
    wanted = requirement_name(package)
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    project = document.get("project")
    found = project.get("dependencies") if isinstance(project, Table) else None
    if isinstance(found, Array):
        for index in reversed(range(len(found))):
            if requirement_name(str(found[index])) == wanted:
                del found[index]
    uv = document.get("tool", {}).get("uv")
    sources = uv.get("sources") if isinstance(uv, AbstractTable) else None
    if isinstance(uv, AbstractTable) and isinstance(sources, AbstractTable):
        for name in [n for n in sources if requirement_name(str(n)) == wanted]:
            del sources[name]
        if not sources:
            del uv["sources"]
    write_atomic(pyproject, tomlkit.dumps(document))


def set_requires_python(pyproject: Path, specifier: str) -> None:
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    project = document["project"]
    assert isinstance(project, Table)
    project["requires-python"] = specifier
    write_atomic(pyproject, tomlkit.dumps(document))


def set_shared_env(pyproject: Path, name: str | None, *, durable: bool = True) -> None:
    """Set (or with None, drop) ``shared-env`` under ``[tool.nodepipe]``."""
    _set_setting(pyproject, "shared-env", name, durable=durable)


def set_interpreter(pyproject: Path, path: str | None) -> None:
    """Set (or with None, drop) ``interpreter`` under ``[tool.nodepipe]``."""
    _set_setting(pyproject, "interpreter", path)


def _set_setting(pyproject: Path, key: str, value: str | None, *, durable: bool = True) -> None:
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
    section = tool.setdefault("nodepipe", tomlkit.table())
    if value is None:
        section.pop(key, None)
    else:
        section[key] = value
    write_atomic(pyproject, tomlkit.dumps(document), durable=durable)


def merge_script_dependencies(pyproject: Path, wanted: list[str]) -> None:
    """Replace the previously merged inline dependencies by ``wanted`` (and remember them)."""
    previous = set(script_dependencies(pyproject))
    own = [d for d in dependencies(pyproject) if d not in previous]
    set_dependencies(pyproject, own + [d for d in wanted if d not in own])
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
    section = tool.setdefault("nodepipe", tomlkit.table())
    section["script-dependencies"] = wanted
    write_atomic(pyproject, tomlkit.dumps(document))


BASE_KEY = "base-packages"
"""Under ``[tool.nodepipe]``: the names of the requirements the pipeline's base put there (the
node's own requirements are the rest; a base change never touches those)."""


def base_names(pyproject: Path) -> set[str]:
    """Names of the node's requirements that came from its pipeline's base packages."""
    data = read_pyproject(pyproject)
    found = data.get("tool", {}).get("nodepipe", {}).get(BASE_KEY, [])
    return {str(item) for item in found} if isinstance(found, list) else set()


def set_base_names(pyproject: Path, names: set[str], *, durable: bool = True) -> None:
    """Record ``names`` as the requirements that came from the base (none: the key is dropped)."""
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
    section = tool.setdefault("nodepipe", tomlkit.table())
    if names:
        section[BASE_KEY] = sorted(names)
    else:
        section.pop(BASE_KEY, None)
    write_atomic(pyproject, tomlkit.dumps(document), durable=durable)


def set_index(pyproject: Path, name: str, url: str, default: bool) -> None:
    """Add (or replace, by name) the ``[[tool.uv.index]]`` named ``name`` at ``url``."""
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
    uv = tool.setdefault("uv", tomlkit.table())
    indexes = uv.get("index")
    entries = tomlkit.aot()
    for entry in indexes if indexes is not None else []:
        if entry.get("name") != name:
            entries.append(entry)
    table = tomlkit.table()
    table["name"] = name
    table["url"] = url
    if default:
        table["default"] = True
    entries.append(table)
    uv["index"] = entries
    write_atomic(pyproject, tomlkit.dumps(document))
