"""The values a bundle is read into: what ``pipeline.toml`` says, and a resolved pipeline.

Three things are kept apart (DESIGN.md §4.5):

- a **definition** (``BundleDefinition``): one parsed ``pipeline.toml``, immutable, cacheable;
- an **include** (``IncludeEntry``): how a parent uses a child (namespace, params, inputs);
- the **call stack** (``CallStack``): the immutable chain of includes being resolved.

Resolving a definition with its includes gives a ``ResolvedPipeline``: every node under its
qualified name (``features.clean`` at any depth), edges between qualified names, and each
include's resolved location and content hash. A node's files are read through the
``BundleFiles`` of the bundle that declares it, never through the current directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

FORMAT_VERSION = 1
"""The ``format`` this version writes and reads; an unknown major version is refused."""

BUNDLE_FILE = "pipeline.toml"
LOCK_FILE = "pipeline.lock"


def frozen_mapping(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only copy of ``values`` (for fields of frozen values)."""
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True, slots=True)
class NodeEntry:
    """``[nodes.<key>]``: one node of the bundle; ``key`` is its tag (a safe name)."""

    key: str
    path: str
    """The node folder, relative to ``pipeline.toml`` (POSIX separators; default nodes/<key>)."""
    notes: str = ""
    group: str | None = None
    position: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class EdgeEntry:
    """``[[edges]]``: ``parent`` → ``child`` on ``slot``; names may be ``NS.key``."""

    parent: str
    child: str
    slot: str


@dataclass(frozen=True, slots=True)
class IncludeEntry:
    """``[includes.<namespace>]``: a child pipeline used under ``namespace``."""

    namespace: str
    source: str
    """As written: a path relative to the including file, ``pkg:NAME[spec]``, or an fsspec URL."""
    inputs: Mapping[str, str] = field(default_factory=frozen_mapping)
    """The child's declared input name → the node here that feeds it."""
    params: Mapping[str, Any] = field(default_factory=frozen_mapping)
    """Overrides of the child's ``[params]``."""


@dataclass(frozen=True, slots=True)
class BundleDefinition:
    """One ``pipeline.toml``, parsed and validated (no I/O beyond the text it came from)."""

    name: str
    notes: str = ""
    py_dir: str | None = None
    """A folder of plain modules (relative), on the import path of this bundle's nodes."""
    params: Mapping[str, Any] = field(default_factory=frozen_mapping)
    """Defaults given to every node of this bundle (an include's params override them)."""
    inputs: Mapping[str, tuple[str, ...]] = field(default_factory=frozen_mapping)
    """What the bundle needs from outside when included: input name → its nodes taking it."""
    nodes: tuple[NodeEntry, ...] = ()
    edges: tuple[EdgeEntry, ...] = ()
    includes: tuple[IncludeEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class BundleLocation:
    """Where a bundle was found: its loader and its resolved location."""

    loader: str
    """``file``, ``fsspec`` or ``package``."""
    uri: str
    """An absolute directory, a URL, or ``pkg:NAME==VERSION``."""

    def __str__(self) -> str:
        return self.uri


class BundleFiles(Protocol):
    """Read access to one bundle's files, by paths relative to its ``pipeline.toml``."""

    @property
    def location(self) -> BundleLocation: ...

    def read_bytes(self, relative: str, limit: int | None = None) -> bytes:
        """The bytes of a regular file; BundleError, reading none, when it is larger than
        ``limit`` (a file read to be parsed: a lock, a pyproject)."""
        ...

    def sha256(self, relative: str) -> str:
        """The sha256 (hex) of a regular file, read a part at a time (never held whole)."""
        ...

    def exists(self, relative: str) -> bool: ...

    def files(self, relative: str) -> tuple[str, ...]:
        """The regular files under the folder ``relative``, as POSIX paths relative to it,
        sorted; what never travels with a bundle (``.venv``, caches) left out."""
        ...

    def copy_tree(self, relative: str, destination: Path) -> None:
        """Copy the folder ``relative`` into the new folder ``destination`` (regular files and
        folders only; nothing outside the bundle is followed)."""
        ...


CallStack = tuple[BundleLocation, ...]
"""The includes being resolved, outermost first; passed down, never shared."""


@dataclass(frozen=True, slots=True)
class ResolvedNode:
    """One node of a resolved pipeline, under its qualified name."""

    name: str
    """``key`` at the top, ``NS.key`` in an include, ``NS.SUB.key`` one level deeper."""
    namespace: str
    """``""`` at the top, else the qualified namespace of the bundle declaring the node."""
    entry: NodeEntry
    files: BundleFiles
    """The files of the bundle declaring the node (its folder is ``entry.path`` in them)."""
    params: Mapping[str, Any]
    """The bundle parameters this node receives (its bundle's ``[params]`` with overrides)."""
    py_dir: str | None
    """The declaring bundle's ``py-dir`` (relative to ``files``), if any."""


@dataclass(frozen=True, slots=True)
class ResolvedInclude:
    """One include, at any depth, as resolved."""

    namespace: str
    """Qualified: ``features``, or ``features.sub`` for an include inside ``features``."""
    entry: IncludeEntry
    location: BundleLocation
    content_hash: str
    """A digest of the child's definition and files: changes when anything in it changes."""
    definition: BundleDefinition


@dataclass(frozen=True, slots=True)
class ResolvedPipeline:
    """A bundle with its includes flattened: what an import creates."""

    definition: BundleDefinition
    location: BundleLocation
    nodes: tuple[ResolvedNode, ...]
    edges: tuple[EdgeEntry, ...]
    """Between qualified names, including the edges an include's ``inputs`` imply."""
    includes: tuple[ResolvedInclude, ...]
    files: BundleFiles
    """The root bundle's files (its ``pipeline.lock``, its nodes' folders)."""
    content_hash: str
    """The root bundle's content hash, computed like an include's (``ResolvedInclude``)."""
