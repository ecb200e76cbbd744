"""The packages of a workspace's ``nodepipe.toml``: what ``package build --all`` and
``package pull --all`` do.

```toml
[package.model]                 # the pipeline tag (with library = true: a node's)
alias = "acme-model"            # all optional
version = "1.2.0"
destination = "dist"            # relative to the workspace
with-data = true
library = false
nodes = ["train", "predict"]    # only these nodes (refused with library = true)

[pull."acme-model==1.2.0"]      # any SOURCE package pull takes
alias = "model-copy"            # all optional
project = "shared"
index-url = "https://pkgs.example.org/simple/"
fs-args = "secrets/fs.yaml"     # relative to the workspace
```
Unknown keys and wrong types are refused with the table named, so a typo never silently does
something else.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodepipe.domain.toml_limits import load_toml
from nodepipe.packaging.errors import PackageError


@dataclass(frozen=True, slots=True)
class BuildEntry:
    """One ``[package.<name>]`` table."""

    name: str
    alias: str | None = None
    version: str | None = None
    destination: Path | None = None
    with_data: bool = False
    library: bool = False
    nodes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PullEntry:
    """One ``[pull."SOURCE"]`` table."""

    source: str
    alias: str | None = None
    project: str | None = None
    index_url: str | None = None
    fs_args: Path | None = None


_BUILD_KEYS = {
    "alias": str,
    "version": str,
    "destination": str,
    "with-data": bool,
    "library": bool,
    "nodes": list,
}
_PULL_KEYS = {"alias": str, "project": str, "index-url": str, "fs-args": str}


def read_manifest(config_file: Path) -> tuple[list[BuildEntry], list[PullEntry]]:
    """The build and pull entries of ``config_file`` (``nodepipe.toml``), in file order."""
    try:
        document = load_toml(config_file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PackageError(f"cannot read {config_file.name}: {exc}") from None
    root = config_file.parent
    builds = []
    for name, table in _tables(document, "package").items():
        values = _checked(table, _BUILD_KEYS, f"[package.{name}]")
        destination = values.get("destination")
        if values.get("library", False) and "nodes" in values:
            raise PackageError(
                f"nodepipe.toml [package.{name}]: nodes cannot go with library = true (a "
                f"library package is the one node {name!r}): remove nodes, or library"
            )
        builds.append(
            BuildEntry(
                name,
                values.get("alias"),
                values.get("version"),
                root / destination if destination else None,
                values.get("with-data", False),
                values.get("library", False),
                _names(values.get("nodes", []), f"[package.{name}]"),
            )
        )
    pulls = []
    for source, table in _tables(document, "pull").items():
        values = _checked(table, _PULL_KEYS, f'[pull."{source}"]')
        fs_args = values.get("fs-args")
        pulls.append(
            PullEntry(
                source,
                values.get("alias"),
                values.get("project"),
                values.get("index-url"),
                root / fs_args if fs_args else None,
            )
        )
    return builds, pulls


def _names(values: list[Any], where: str) -> tuple[str, ...]:
    if not all(isinstance(value, str) for value in values):
        raise PackageError(f"nodepipe.toml {where}: nodes must be a list of node tags")
    return tuple(values)


def _tables(document: Mapping[str, Any], key: str) -> dict[str, Mapping[str, Any]]:
    section = document.get(key, {})
    if not isinstance(section, dict) or not all(isinstance(v, dict) for v in section.values()):
        raise PackageError(f"nodepipe.toml: [{key}] must hold tables ([{key}.NAME])")
    return section


def _checked(table: Mapping[str, Any], keys: Mapping[str, type], where: str) -> dict[str, Any]:
    for key, value in table.items():
        if key not in keys:
            known = ", ".join(sorted(keys))
            raise PackageError(f"nodepipe.toml {where}: unknown key {key!r} (known: {known})")
        if not isinstance(value, keys[key]):
            raise PackageError(
                f"nodepipe.toml {where}: {key} must be a {keys[key].__name__}, "
                f"not {type(value).__name__}"
            )
    return dict(table)
