"""The folders and files on this machine a node's environment would be built from.

A node's ``pyproject.toml`` (``[tool.uv.sources]``: ``path``, ``git``, ``url``) and its
``uv.lock`` (each package's ``source``: ``editable``, ``directory``, ``path``, ``git``,
``url``, ``registry``) may name local folders, files or ``file:`` URLs; syncing the
environment reads them and builds what is there (a PEP 517 backend runs). ``outside`` lists
those that lie outside the given folders: an import refuses them, so a node that came from
elsewhere (a bundle, a package) cannot make nodepipe build a folder of this machine it chose;
an export or a package build refuses them too, since nobody could import what it wrote.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LOCAL_KEYS = ("editable", "directory", "path")
URL_KEYS = ("git", "url", "registry")


def outside(code: Path, *roots: Path) -> list[str]:
    """The local sources of the node whose ``code/`` is ``code`` that lead outside every one of
    ``roots`` (or cannot be read), as ``"file: source"``; [] when there are none."""
    resolved = [root.resolve() for root in roots]
    found = []
    for file, source in _sources(code):
        if source.lower().startswith("file:") or not _inside(code / source, resolved):
            found.append(f"{file}: {source}")
    return found


def _inside(path: Path, roots: list[Path]) -> bool:
    real = path.resolve()
    return any(real.is_relative_to(root) for root in roots)


def _sources(code: Path) -> Iterator[tuple[str, str]]:
    project = _read(code / "pyproject.toml")
    uv = project.get("tool", {}).get("uv", {}) if isinstance(project.get("tool"), dict) else {}
    sources = uv.get("sources", {}) if isinstance(uv, dict) else {}
    for entry in sources.values() if isinstance(sources, dict) else ():
        for table in entry if isinstance(entry, list) else [entry]:
            yield from _named(table, ("path", *URL_KEYS), "pyproject.toml")
    lock = _read(code / "uv.lock")
    packages = lock.get("package", [])
    for package in packages if isinstance(packages, list) else ():
        if isinstance(package, dict):
            yield from _named(package.get("source"), (*LOCAL_KEYS, *URL_KEYS), "uv.lock")


def _named(table: Any, keys: tuple[str, ...], file: str) -> Iterator[tuple[str, str]]:
    if not isinstance(table, dict):
        return
    for key in keys:
        value = table.get(key)
        if not isinstance(value, str):
            continue
        if key in URL_KEYS and "://" in value and not value.lower().startswith("file:"):
            continue  # a remote index, repository or archive
        yield file, value


def _read(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
