"""The one rule for every path a bundle writes, and how an include's ``source`` is read.

Paths inside a bundle (a node's ``path``, ``py-dir``) are relative to ``pipeline.toml``, POSIX
(``/``), and stay inside the bundle. An include's ``source`` is one of: a relative path (to the
including file; it may go up, ``../shared/features``, since it names another bundle),
``pkg:NAME[spec]`` (an installed distribution), or a URL (``scheme://...``, read with fsspec).
Absolute paths, drive letters and backslashes are refused everywhere: a bundle must mean the same
thing on every machine; so is a step longer than a folder name may be (``MAX_NAME_BYTES``).
A name that may be longer (a node's tag: 100 characters, up to 400 bytes) is made a folder
name by ``folder_name``.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from typing import Literal

from packaging.requirements import InvalidRequirement, Requirement

PACKAGE_PREFIX = "pkg:"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_NAME_BYTES = 255
"""The longest file or folder name (in UTF-8) Linux and macOS file systems hold."""
_KEPT_BYTES = 200
"""How much of a name too long for a folder ``folder_name`` keeps (before ``-`` and 12 hex)."""


def folder_name(name: str) -> str:
    """``name`` as one folder name: itself when it fits ``MAX_NAME_BYTES``; else its first
    characters up to 200 bytes, ``-`` and 12 hex digits of its sha256 (the same name, the same
    folder)."""
    data = name.encode("utf-8", "surrogatepass")
    if len(data) <= MAX_NAME_BYTES:
        return name
    kept = data[:_KEPT_BYTES].decode("utf-8", "ignore")
    return f"{kept}-{hashlib.sha256(data).hexdigest()[:12]}"


def path_problem(value: str, *, may_leave: bool = False) -> str | None:
    """Why ``value`` is not a usable bundle path (None when it is)."""
    if not value.strip():
        return "it is empty"
    if "\\" in value:
        return "it contains a backslash; write paths with '/'"
    if value.startswith("/") or value.startswith("~"):
        return "it is absolute; write it relative to pipeline.toml"
    if _DRIVE.match(value):
        return "it starts with a drive letter; write it relative to pipeline.toml"
    if "\x00" in value:
        return "it contains a NUL character"
    if any(
        len(step.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for step in value.split("/")
    ):
        return f"a name in it is longer than {MAX_NAME_BYTES} bytes, more than a folder's may be"
    normal = posixpath.normpath(value)
    if not may_leave and (normal == ".." or normal.startswith("../")):
        return "it leads outside the bundle"
    if not may_leave and normal == ".":
        return "it names the bundle folder itself"
    return None


def steps(value: str) -> list[str]:
    """The names a POSIX path ``value`` goes through."""
    return value.split("/")


def normal_path(value: str) -> str:
    """``value`` without ``./``, doubled slashes or ``a/..`` detours (checked paths only)."""
    return posixpath.normpath(value)


@dataclass(frozen=True, slots=True)
class Source:
    """An include's ``source``, classified."""

    kind: Literal["path", "package", "url"]
    text: str
    """The path (normalised), the URL, or the requirement after ``pkg:``."""

    @property
    def requirement(self) -> Requirement:
        """The distribution and version spec of a ``pkg:`` source."""
        return Requirement(self.text)


def parse_source(value: str) -> Source:
    """Classify an include source; ValueError saying why it is unusable."""
    if value.startswith(PACKAGE_PREFIX):
        spec = value[len(PACKAGE_PREFIX) :].strip()
        try:
            requirement = Requirement(spec)
        except InvalidRequirement as exc:
            raise ValueError(
                f"{spec!r} is not a package requirement: {str(exc).splitlines()[0]}"
            ) from None
        if requirement.url or requirement.marker or requirement.extras:
            raise ValueError(f"{spec!r}: write a distribution name and a version spec only")
        return Source("package", spec)
    if _URL.match(value):
        return Source("url", value)
    problem = path_problem(value, may_leave=True)
    if problem:
        raise ValueError(problem)
    return Source("path", normal_path(value))
