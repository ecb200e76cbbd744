"""A node's conda part as files: what it asks for and what its lock pins (DESIGN.md §3).

```
code/pyproject.toml   [tool.nodepipe.conda] dependencies = ["ffmpeg 6.1.*"], channels = [...]
code/conda.lock       the solved packages, in pixi's lock format (written by py-rattler)
code/.conda/          the prefix installed from the lock (never part of the code or a bundle)
```

Everything here reads and writes plain text, without py-rattler: a node's fingerprint, its run
record and a bundle read the lock even where the ``conda`` extra is not installed. The lock's
package entries name their archive (``.../noarch/ffmpeg-6.1-h1_0.conda``), which gives name and
version. A bundle may name only remote channels or files it carries (``foreign_conda_sources``
says which locations break that); paths inside it are written relative to its root
(``portable_conda_paths``) and made absolute again on import (``local_conda_paths``).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from nodepipe.domain.environments import (
    ARCHIVE_SUFFIXES,
    CONDA_LOCK,
    CondaPackage,
    archive_parts,
)
from nodepipe.domain.toml_limits import load_toml
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.node_config import read_pyproject

_LOCATION_KEYS = ("url", "conda", "channel")
"""The keys of a conda lock whose values name a channel or a package archive."""
_RELATIVE = "file-relative:"
"""How a bundle's lock names a file relative to the bundle (``file-relative:channel``)."""
_SPEC_KEY = r"""(?<![\w.-])(url|channel)\s*=\s*("[^"]*"|'[^']*'|[^,\]\s]+)"""
"""A MatchSpec's bracket key naming a package file or a channel (``[url=file:///x.conda]``).
Compiled on first use (``re``'s cache), not at import: ``status`` imports this module."""


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
    return {p.name: p.version for p in conda_locked_records(lock_text)}


def conda_locked_records(lock_text: bytes | str) -> list[CondaPackage]:
    """Every package a conda lock's text pins, by name, with its version, build and channel;
    ``[]`` when it is not a lock."""
    import yaml  # only nodes with conda packages pay for it

    try:
        data = yaml.safe_load(lock_text)
    except yaml.YAMLError:
        return []
    packages = data.get("packages") if isinstance(data, dict) else None
    found: dict[str, CondaPackage] = {}
    for entry in packages if isinstance(packages, list) else []:
        location = entry.get("conda") if isinstance(entry, dict) else None
        if isinstance(location, str):
            parsed = archive_parts(location)
            if parsed is not None:
                channel = entry.get("channel")
                name, version, build = parsed
                where = channel if isinstance(channel, str) else _channel_of(location)
                found[name] = CondaPackage(name, version, build, where)
    return [found[name] for name in sorted(found)]


def _channel_of(location: str) -> str:
    """The channel an archive's URL or path lies in: what is above its ``subdir/file``."""
    parts = location.rstrip("/").rsplit("/", 2)
    return parts[0] if len(parts) == 3 else ""


def channel_location(channel: str, base: Path | None = None) -> str:
    """A channel as the solver takes it: a URL or a name (``conda-forge``,
    ``conda-forge/label/dev``) as given; a folder written as one (``./x``, ``../x``, ``/x``,
    ``~/x``; relative to ``base``, else the working directory) as a ``file://`` URL. A bare
    name is never looked up as a folder: a folder of that name in the current directory
    (``/tmp``, a shared project) could be anyone's."""
    if "://" in channel:
        return channel.rstrip("/")
    if not names_folder(channel):
        return channel
    folder = Path(channel).expanduser()
    if base is not None and not folder.is_absolute():
        folder = base / folder
    return folder.resolve().as_uri()


def names_folder(channel: str) -> bool:
    """Whether a channel is written as a local folder rather than a name or a URL."""
    return channel in (".", "..") or channel.startswith(("./", "../", "/", "~"))


def spec_locations(spec: str) -> list[str]:
    """The channels and package files a conda spec names itself, as written: a ``url=`` or
    ``channel=`` in its brackets, a ``channel::`` before its name, or the whole spec when it
    is a package file's URL or path (py-rattler reads each of them as it solves). A channel
    name (``conda-forge::ffmpeg``) is remote, so no location."""
    files, channels = _spec_places(spec)
    return files + [c for c in channels if names_folder(c) or ":" in c]


def spec_package_files(spec: str) -> list[str]:
    """The package files (``url=``, or the whole spec) a conda spec names, as written."""
    return _spec_places(spec)[0]


def _spec_places(spec: str) -> tuple[list[str], list[str]]:
    text = spec.strip()
    keys = [
        (m.group(1).lower(), m.group(2).strip("\"'")) for m in re.finditer(_SPEC_KEY, text, re.I)
    ]
    files = [value for key, value in keys if key == "url"]
    channels = [value for key, value in keys if key == "channel"]
    words = text.split("[", 1)[0].split(maxsplit=1)  # none for a spec of brackets alone
    head = words[0] if words else ""
    if "::" in head:
        channels.append(head.rsplit("::", 1)[0])
    elif ":" in head or "/" in head or head.endswith(ARCHIVE_SUFFIXES):
        files.append(head)
    return files, channels


def portable_conda_paths(code: Path, bundle_root: Path) -> None:
    """In an exported node's ``code``: every local channel and package path of its conda lock
    and request made relative to the bundle's root (``file-relative:channel``), so a channel
    inside the bundle moves with it (an export refuses a channel outside it)."""
    _rewrite_node(code, lambda value, key: _relative(value, bundle_root))


def local_conda_paths(code: Path, bundle_root: Path) -> None:
    """In an imported node's ``code``: undo ``portable_conda_paths`` against the root of the
    bundle it came from."""
    _rewrite_node(code, lambda value, key: _absolute(value, key, bundle_root))


def _rewrite_node(code: Path, rewrite: Callable[[str, str], str | None]) -> None:
    lock = code / CONDA_LOCK
    if lock.is_file():
        text = lock.read_text(encoding="utf-8")
        changed = _rewrite_lock(text, rewrite)
        if changed != text:
            write_atomic(lock, changed)
    pyproject = code / "pyproject.toml"
    if pyproject.is_file():
        specs, channels = conda_requirements(pyproject)
        moved = [rewrite(c, "channel") or c for c in channels]
        if moved != channels:
            set_conda_requirements(pyproject, specs, moved)


def foreign_conda_sources(
    pyproject_text: str | None, lock_text: str | None, root: Path | None
) -> list[str]:
    """The channels and spec locations (request) and package or channel locations (lock)
    of a bundle's node that are neither remote (``http``/``https``) nor inside the bundle at
    ``root`` (None: a bundle that is not a local folder, where nothing local is); installing
    from them would read a folder of this machine the bundle chose. A channel name is
    remote."""
    found = []
    if pyproject_text is not None:
        try:
            project = load_toml(pyproject_text)
        except tomllib.TOMLDecodeError:
            project = {}
        section = project.get("tool", {}).get("nodepipe", {}).get("conda", {})
        section = section if isinstance(section, dict) else {}
        channels = _strings(section.get("channels"))
        found += [
            f"pyproject.toml: {c}"
            for c in channels
            if (names_folder(c) or "://" in c or c.startswith(("file:", _RELATIVE)))
            and not _bundled(c, root)
        ]
        found += [
            f"pyproject.toml: {spec}"
            for spec in _strings(section.get("dependencies"))
            if any(not _bundled(place, root) for place in spec_locations(spec))
        ]
    for key, value in _lock_values(lock_text or ""):
        if not _bundled(value, root):
            found.append(f"{CONDA_LOCK} {key}: {value}")
    return found


def _bundled(value: str, root: Path | None) -> bool:
    """Whether a location is remote, or a local one inside the bundle at ``root``."""
    if value.lower().startswith(("http://", "https://")):
        return True
    if root is None:
        return False
    if value.startswith(_RELATIVE):
        path = root / value.removeprefix(_RELATIVE)
    elif value.startswith("file:"):
        path = Path(unquote(urlparse(value).path))
    elif value.startswith("/"):
        path = Path(value)
    else:
        return False  # another scheme, or a path relative to who knows what
    return path.resolve().is_relative_to(root.resolve())


def _lock_values(text: str) -> Iterator[tuple[str, str]]:
    for line in text.splitlines():
        head, sep, value = line.partition(": ")
        key = head.strip().lstrip("- ")
        if sep and key in _LOCATION_KEYS:
            yield key, value.strip().strip("'\"")


def _rewrite_lock(text: str, rewrite: Callable[[str, str], str | None]) -> str:
    """The lock's text with its ``url``, ``conda`` and ``channel`` values rewritten where
    ``rewrite`` gives a new value (line by line: the rest of the lock stays as written)."""
    lines = []
    for line in text.splitlines(keepends=True):
        head, sep, value = line.partition(": ")
        key = head.strip().lstrip("- ")
        if sep and key in _LOCATION_KEYS:
            replaced = rewrite(value.strip(), key)
            if replaced is not None:
                line = f"{head}{sep}{replaced}\n"
        lines.append(line)
    return "".join(lines)


def _relative(value: str, root: Path) -> str | None:
    if value.startswith("file://"):
        path = unquote(urlparse(value).path)
    elif value.startswith("/"):
        path = value
    else:
        return None
    return _RELATIVE + Path(os.path.relpath(path, root.resolve())).as_posix()


def _absolute(value: str, key: str, root: Path) -> str | None:
    if not value.startswith(_RELATIVE):
        return None
    resolved = (root / value.removeprefix(_RELATIVE)).resolve()
    return str(resolved) if key == "conda" else resolved.as_uri()


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _array(items: list[str]) -> Any:
    import tomlkit

    array = tomlkit.array()
    array.extend(items)
    array.multiline(len(items) > 1)
    return array
