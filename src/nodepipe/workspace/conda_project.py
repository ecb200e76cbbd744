"""A node's conda part as files: what it asks for and what its lock pins (DESIGN.md §3).

```
code/pyproject.toml   [tool.nodepipe.conda] dependencies = ["ffmpeg 6.1.*"], channels = [...]
code/conda.lock       the solved packages, in pixi's lock format (written by py-rattler)
code/.conda/          the prefix installed from the lock (never part of the code or a bundle)
```

Everything here reads and writes plain text, without py-rattler: a node's fingerprint, its run
record and a bundle read the lock even where the ``conda`` extra is not installed. The lock's
package entries name their archive (``.../noarch/ffmpeg-6.1-h1_0.conda``), which gives name and
version; a file channel's paths can be made relative to a folder and back (bundles carry them
that way).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.node_config import read_pyproject

_ARCHIVE_SUFFIXES = (".conda", ".tar.bz2")
_RELATIVE = "file-relative:"
"""How a bundle's lock names a file channel relative to the bundle (``file-relative:../ch``)."""


def conda_requirements(pyproject: Path) -> tuple[list[str], list[str]]:
    """(the conda specs the node asks for, the channels it names) from its pyproject."""
    section = read_pyproject(pyproject).get("tool", {}).get("nodepipe", {}).get("conda", {})
    if not isinstance(section, dict):
        return [], []
    return _strings(section.get("dependencies")), _strings(section.get("channels"))


def set_conda_requirements(pyproject: Path, specs: list[str], channels: list[str]) -> None:
    """Write ``[tool.nodepipe.conda]`` (dropped when both lists are empty)."""
    import tomlkit
    from tomlkit.items import Table

    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
    section = tool.setdefault("nodepipe", tomlkit.table())
    assert isinstance(section, Table)
    if not specs and not channels:
        section.pop("conda", None)
    else:
        conda = tomlkit.table()
        conda["dependencies"] = _array(specs)
        conda["channels"] = _array(channels)
        section["conda"] = conda
    write_atomic(pyproject, tomlkit.dumps(document))


def conda_locked_packages(lock_text: bytes | str) -> dict[str, str]:
    """Package name -> version pinned by a conda lock's text; ``{}`` when it is not one."""
    import yaml  # only nodes with conda packages pay for it

    try:
        data = yaml.safe_load(lock_text)
    except yaml.YAMLError:
        return {}
    packages = data.get("packages") if isinstance(data, dict) else None
    found: dict[str, str] = {}
    for entry in packages if isinstance(packages, list) else []:
        location = entry.get("conda") if isinstance(entry, dict) else None
        if isinstance(location, str):
            parsed = archive_name_version(location)
            if parsed is not None:
                found[parsed[0]] = parsed[1]
    return dict(sorted(found.items()))


def archive_name_version(location: str) -> tuple[str, str] | None:
    """(name, version) from a package archive's URL or path: ``name-version-build.conda``."""
    file = location.rstrip("/").rsplit("/", 1)[-1]
    for suffix in _ARCHIVE_SUFFIXES:
        if file.endswith(suffix):
            parts = file.removesuffix(suffix).rsplit("-", 2)
            return (parts[0], parts[1]) if len(parts) == 3 else None
    return None


def channel_location(channel: str, base: Path | None = None) -> str:
    """A channel as the solver takes it: a URL or a name (``conda-forge``) as given; an
    existing folder (relative to ``base`` or the working directory) as a ``file://`` URL."""
    if "://" in channel:
        return channel.rstrip("/")
    folder = (base / channel) if base is not None else Path(channel)
    if channel.startswith((".", "/", "~")) or folder.is_dir():
        return folder.expanduser().resolve().as_uri()
    return channel


def relative_file_urls(text: str, folder: Path) -> str:
    """A lock's text with every ``file://`` location below ``folder``'s parent (a channel
    beside a bundle) rewritten relative to ``folder``; others stay as they are."""
    return _rewrite(text, lambda path: _relative_to(path, folder))


def absolute_file_urls(text: str, folder: Path) -> str:
    """Undo ``relative_file_urls``: relative locations made ``file://`` URLs again."""
    return _rewrite(text, lambda path: None, folder)


def _relative_to(path: str, folder: Path) -> str | None:
    target = Path(path)
    if not target.is_relative_to(folder.parent.resolve()):
        return None
    return _RELATIVE + os.path.relpath(target, folder.resolve())


def _rewrite(text: str, relative: Any, base: Path | None = None) -> str:
    """Rewrite channel and package locations line by line (the lock's layout stays as is)."""
    lines = []
    for line in text.splitlines(keepends=True):
        head, sep, value = line.partition(": ")
        key = head.strip().lstrip("- ")
        if sep and key in ("url", "conda", "channel"):
            bare = value.strip()
            if base is not None and bare.startswith(_RELATIVE):
                resolved = (base / bare.removeprefix(_RELATIVE)).resolve()
                where = str(resolved) if key == "conda" else resolved.as_uri()
                line = f"{head}{sep}{where}\n"
            elif base is None and (path := _local_path(bare)) is not None:
                replaced = relative(path)
                if replaced is not None:
                    line = f"{head}{sep}{replaced}\n"
        lines.append(line)
    return "".join(lines)


def _local_path(value: str) -> str | None:
    if value.startswith("file://"):
        return unquote(urlparse(value).path)
    return value if value.startswith("/") else None


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _array(items: list[str]) -> Any:
    import tomlkit

    array = tomlkit.array()
    array.extend(items)
    array.multiline(len(items) > 1)
    return array
