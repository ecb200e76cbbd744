"""Reading a conda ``environment.yml`` into what a node can hold (pure: no files, no solving).

An environment file lists channels and dependencies; a ``pip:`` entry among the dependencies
lists PyPI requirements. nodepipe places each of them: pip requirements go to the node's uv
project, conda specs to its conda part (``envs.conda``), channels become the node's conda
channels. What it cannot place is named with the reason: Python itself (uv manages the node's
interpreter: the file's version is kept in ``python_versions``, for the hint naming ``env python``),
``pip`` (uv installs), pip options (``-r``, ``-e``, ``--index-url``),
a ``prefix`` or ``variables`` section, an entry that is neither text nor a ``pip:`` list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nodepipe.domain.environments import archive_parts
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.yaml_limits import load_yaml

_KNOWN_KEYS = ("name", "channels", "dependencies")
_SHOWN = 60
"""How much of an entry that cannot be placed a message shows."""
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


@dataclass(frozen=True, slots=True)
class EnvironmentFile:
    """What an ``environment.yml`` asks for, sorted by where it goes."""

    conda: list[str] = field(default_factory=list)
    pip: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    """Each entry nodepipe cannot place, with the reason: ``python=3.11 (Python is ...)``."""
    python_versions: list[str] = field(default_factory=list)
    """For each ``python`` entry, the version it asks for (``3.11`` for ``python=3.11``; ""
    for ``python`` alone or a range), which the node's own request sets instead."""


def conda_spec_name(spec: str) -> str:
    """The package a conda spec names: ``conda-forge::ffmpeg >=6`` -> ``ffmpeg``; a package
    file's URL or path -> the name in its file name; InvalidInputError for text that names
    none."""
    bare = spec.strip().rsplit("::", 1)[-1]
    words = bare.split("[", 1)[0].split(maxsplit=1)  # none for "[...]" alone
    head = words[0] if words else ""
    if "::" not in spec and ("/" in head or ":" in head):
        parts = archive_parts(head)
        if parts is None:
            raise InvalidInputError(f"{spec!r} is not a conda package spec")
        return parts[0].lower()
    found = _NAME.match(bare)
    if found is None:
        raise InvalidInputError(f"{spec!r} is not a conda package spec")
    return found.group(0).lower()


def read_environment_file(text: str, source: str) -> EnvironmentFile:
    """Sort the entries of an environment file; InvalidInputError naming ``source`` when it is
    malformed (not YAML, not a mapping, dependencies or channels that are not lists) or
    nothing in it can be placed."""
    data = load_yaml(text, source)
    if not isinstance(data, dict):
        raise InvalidInputError(f"{source}: an environment file is a mapping with dependencies")
    result = EnvironmentFile()
    result.unplaced.extend(
        f"{_shown(key)} (nodepipe keeps no such part for a node)"
        for key in data
        if key not in _KNOWN_KEYS
    )
    result.channels.extend(_strings(data.get("channels", []), source, "channels"))
    for entry in _list(data.get("dependencies", []), source, "dependencies"):
        if isinstance(entry, dict) and set(entry) == {"pip"}:
            _place_pip(_strings(entry["pip"], source, "pip"), result)
        elif isinstance(entry, str) and entry.strip():
            _place_conda(entry.strip(), result)
        else:
            result.unplaced.append(f"{_shown(entry)} (neither a package nor a pip: list)")
    if not result.conda and not result.pip:
        refused = "; ".join(result.unplaced) or "it lists no dependencies"
        raise InvalidInputError(f"{source}: nothing in it can be placed in a node: {refused}")
    return result


def _place_conda(spec: str, result: EnvironmentFile) -> None:
    name = conda_spec_name(spec)
    if name == "python":
        result.unplaced.append(f"{spec} (the node's Python is uv's, not conda's)")
        result.python_versions.append(_python_version(spec))
    elif name == "pip":
        result.unplaced.append(f"{spec} (uv installs the pip: packages; pip itself is not needed)")
    else:
        result.conda.append(spec)


def _python_version(spec: str) -> str:
    """The version a conda spec of ``python`` names, as a Python request: ``python=3.11`` and
    ``python 3.11.*`` -> ``3.11``, ``python==3.11.4`` -> ``3.11.4``; "" for any other (a
    range, no version), which the user writes."""
    bare = spec.rsplit("::", 1)[-1]
    found = re.fullmatch(r"\s*python\s*(?:==?|\s)\s*(\d+(?:\.\d+){0,2})(?:\.\*)?\s*", bare, re.I)
    return found.group(1) if found else ""


def _place_pip(requirements: list[str], result: EnvironmentFile) -> None:
    for requirement in requirements:
        if requirement.startswith("-"):
            result.unplaced.append(f"{requirement} (a pip option, not a requirement)")
        else:
            result.pip.append(requirement)


def _shown(value: object) -> str:
    """``value`` as a message names it: its repr, cut to ``_SHOWN`` characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _list(value: object, source: str, what: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInputError(f"{source}: {what} must be a list")
    return value


def _strings(value: object, source: str, what: str) -> list[str]:
    items = _list(value, source, what)
    if not all(isinstance(item, str) for item in items):
        raise InvalidInputError(f"{source}: every entry of {what} must be text")
    return [str(item).strip() for item in items]
