"""What a node run ran with (DESIGN.md §3): its locks, interpreter, platform and code.

A ``RunEnvironment`` names contents by sha256 only; the contents themselves (the lock texts,
every code file, the code manifest) live once each in the workspace's object store
(``workspace.objects``), however many node runs share them. A lock has a *kind*: ``uv`` for the
``uv.lock`` every node has; ``conda`` for the ``conda.lock`` of a node with conda packages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

UV_LOCK = "uv"
"""The kind of a node's ``code/uv.lock``."""
CONDA_LOCK_KIND = "conda"
"""The kind of a node's ``code/conda.lock``."""
CONDA_LOCK = "conda.lock"
"""The conda lock in a node's ``code/`` folder (pixi's lock format)."""
CONDA_PREFIX = ".conda"
"""The conda prefix in a node's ``code/`` folder, installed from the lock."""
PRUNED_CODE = "pruned"
"""The code of a recorded environment whose code and locks were collected (``doctor
--objects --keep N --collect``): no digest, so nothing is looked for."""
LOCK_FILES = {UV_LOCK: "uv.lock", CONDA_LOCK_KIND: CONDA_LOCK}
"""Where each kind of lock lives in a node's ``code/`` folder."""

_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(text: str) -> bool:
    """Whether ``text`` is a lowercase hex sha256 digest (and so safe as a file name)."""
    return _SHA256.fullmatch(text) is not None


ARCHIVE_SUFFIXES = (".conda", ".tar.bz2")
"""How a conda package file's name ends."""


def archive_parts(location: str) -> tuple[str, str, str] | None:
    """(name, version, build) from a package file ``.../name-version-build.conda``."""
    file = location.rstrip("/").rsplit("/", 1)[-1]
    for suffix in ARCHIVE_SUFFIXES:
        if file.endswith(suffix):
            parts = file.removesuffix(suffix).rsplit("-", 2)
            return (parts[0], parts[1], parts[2]) if len(parts) == 3 and all(parts) else None
    return None


@dataclass(frozen=True, slots=True)
class RunEnvironment:
    """The environment a node run started with, by content hash."""

    python: str
    """The interpreter's version, e.g. ``3.12.7`` (empty if the node had no environment)."""
    platform: str
    """Where it ran, e.g. ``linux-x86_64 glibc 2.36``."""
    code: str
    """The sha256 of the code manifest: every file of ``code/`` by path, with its sha256."""
    locks: dict[str, str] = field(default_factory=dict)
    """Lock kind (``uv``, ``conda``) -> the sha256 of the lock's text."""
    interpreter: str = ""
    """The interpreter's path, symbolic links resolved (empty if not recorded: a node with no
    Python environment, or a run recorded before nodepipe kept it)."""


@dataclass(frozen=True, slots=True)
class CondaPackage:
    """One package a conda lock pins: what ``ffmpeg 6.1 (conda-forge, h1_0)`` says."""

    name: str
    version: str
    build: str
    channel: str
    """The channel it comes from, as the lock names it (a URL, or a name)."""


@dataclass(frozen=True, slots=True)
class CodeManifest:
    """The files of a node's ``code/`` folder as a run had them: path -> sha256 of the bytes,
    symbolic links by their target, and the permission bits of files that are not plain
    ``0644`` (an executable script, a private ``0600`` file; as git keeps the executable bit).
    Paths are ``/``-separated, relative to ``code/``."""

    files: dict[str, str]
    links: dict[str, str] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "files": dict(sorted(self.files.items())),
            "links": dict(sorted(self.links.items())),
        }
        if self.modes:  # absent otherwise: manifests of plain files keep their digest
            data["modes"] = dict(sorted(self.modes.items()))
        return data

    @classmethod
    def from_dict(cls, data: Any) -> CodeManifest:
        """Read a stored manifest back; ValueError when it is not one."""
        try:
            files = {str(k): str(v) for k, v in data["files"].items()}
            links = {str(k): str(v) for k, v in data.get("links", {}).items()}
            modes = {str(k): v for k, v in data.get("modes", {}).items()}
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a code manifest: {exc}") from exc
        if not all(is_sha256(digest) for digest in files.values()):
            raise ValueError("not a code manifest: a file's digest is not a sha256")
        if not all(type(mode) is int and 0 <= mode <= 0o777 for mode in modes.values()):
            raise ValueError("not a code manifest: a file's mode is not permission bits")
        return cls(files, links, modes)


def restorable_mode(st_mode: int) -> int:
    """The permission bits a file written back from a record gets: its own, never more than
    ``0755`` (nobody else may write it; no set-id bit), so a private file stays private and
    a script stays executable."""
    return st_mode & 0o755


PLAIN_MODE = 0o644
"""The mode of a recorded file whose bits the manifest does not name."""
