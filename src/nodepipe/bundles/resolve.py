"""Resolving a bundle: its includes read recursively and flattened into one pipeline.

Each include is looked up relative to the file that names it (``lookup.locate``), whatever
the depth; its nodes are named ``NS.key`` under the qualified namespace of the including
bundle (``features.clean``, ``features.sub.x``). The call stack is an immutable tuple passed
down: a bundle met again on it is an include cycle, refused with its chain
("include cycle: train → features → train").

An include's ``inputs`` become edges: ``inputs = { raw = "prep" }`` connects ``prep`` to every
node the child lists under ``[inputs] raw``, on the slot named like the input (``raw``), so a
child's code addresses its outside input by that name. An include's ``params`` override the
child's ``[params]`` (one level: an include inside the child gets the child's values).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodepipe.bundles.content import content_hash
from nodepipe.bundles.definitions import definition_origin
from nodepipe.bundles.errors import BundleError, IncludeCycleError, IncludeNotFoundError
from nodepipe.bundles.loaders import DEFAULT_LOADERS, Loaders, StorageOptions
from nodepipe.bundles.lookup import Lookup, locate, locate_root
from nodepipe.bundles.model import (
    BundleDefinition,
    BundleFiles,
    CallStack,
    EdgeEntry,
    IncludeEntry,
    ResolvedInclude,
    ResolvedNode,
    ResolvedPipeline,
    frozen_mapping,
)
from nodepipe.bundles.schema_graph import find_cycle


def resolve_bundle(
    source: str | Path,
    *,
    cwd: Path,
    loaders: Loaders = DEFAULT_LOADERS,
    storage_options: StorageOptions | None = None,
) -> ResolvedPipeline:
    """The bundle at ``source`` (a folder, a relative source, ``pkg:``, a URL) with every
    include resolved; ``cwd`` is the caller's current directory (absolute)."""
    if not cwd.is_absolute():
        raise ValueError(f"cwd must be an absolute directory, not {cwd}")
    options = storage_options or frozen_mapping()
    files = locate_root(source, cwd=cwd, loaders=loaders, storage_options=options)
    definition, digest = loaders.of(files.location).definitions.definition(files)
    root = _Frame(definition, files, "", (files.location,), (definition.name,))
    part = _Resolver(loaders, cwd, options).expand(root, definition.params)
    _check_graph(part, definition_origin(files))
    nested = [(i.namespace, i.content_hash) for i in part.includes if "." not in i.namespace]
    return ResolvedPipeline(
        definition,
        files.location,
        tuple(part.nodes),
        tuple(part.edges),
        tuple(part.includes),
        files,
        content_hash(files, definition, digest, nested),
    )


@dataclass
class _Part:
    """What one bundle with its includes contributes (built up, then frozen)."""

    nodes: list[ResolvedNode] = field(default_factory=list)
    edges: list[EdgeEntry] = field(default_factory=list)
    includes: list[ResolvedInclude] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Frame:
    """One bundle being resolved: where it is, under which namespace, and who includes it."""

    definition: BundleDefinition
    files: BundleFiles
    namespace: str
    stack: CallStack
    """Locations from the root to this bundle (this one last)."""
    names: tuple[str, ...]
    """The pipeline names along ``stack`` (for the cycle message)."""

    @property
    def origin(self) -> str:
        return definition_origin(self.files)


@dataclass(frozen=True)
class _Resolver:
    loaders: Loaders
    cwd: Path
    options: StorageOptions

    def expand(self, frame: _Frame, params: Mapping[str, Any]) -> _Part:
        """The nodes and edges of ``frame``'s bundle (``params`` applied) and of its includes."""
        definition, namespace = frame.definition, frame.namespace
        merged = frozen_mapping(copy.deepcopy(dict(params)))
        part = _Part()
        for node in definition.nodes:
            part.nodes.append(
                ResolvedNode(
                    _qualify(namespace, node.key),
                    namespace,
                    node,
                    frame.files,
                    merged,
                    definition.py_dir,
                )
            )
        part.edges.extend(
            EdgeEntry(_qualify(namespace, e.parent), _qualify(namespace, e.child), e.slot)
            for e in definition.edges
        )
        for include in definition.includes:
            self._include(frame, include, part)
        return part

    def _include(self, frame: _Frame, include: IncludeEntry, part: _Part) -> None:
        """Resolve one include of ``frame`` and add what it brings to ``part``."""
        files = self._locate(frame, include)
        location = files.location
        if location in frame.stack:
            start = frame.stack.index(location)
            chain = (*frame.names[start:], frame.names[start])
            raise IncludeCycleError(f"{frame.origin}: include cycle: {' → '.join(chain)}", chain)
        child, digest = self.loaders.of(location).definitions.definition(files)
        namespace = _qualify(frame.namespace, include.namespace)
        inner_frame = _Frame(
            child, files, namespace, (*frame.stack, location), (*frame.names, child.name)
        )
        inner = self.expand(inner_frame, {**child.params, **include.params})
        part.edges.extend(_input_edges(frame, include, child, namespace))
        nested = [(i.namespace, i.content_hash) for i in inner.includes if _child_of(i, namespace)]
        digest = content_hash(files, child, digest, nested)
        part.nodes.extend(inner.nodes)
        part.edges.extend(inner.edges)
        part.includes.append(ResolvedInclude(namespace, include, location, digest, child))
        part.includes.extend(inner.includes)

    def _locate(self, frame: _Frame, include: IncludeEntry) -> BundleFiles:
        try:
            return locate(include.source, Lookup(self.cwd, frame.files, self.options), self.loaders)
        except IncludeNotFoundError as exc:
            message = f"{frame.origin}: include {include.namespace!r}: {exc}"
            raise IncludeNotFoundError(message, exc.searched) from None


def _input_edges(
    frame: _Frame, include: IncludeEntry, child: BundleDefinition, namespace: str
) -> list[EdgeEntry]:
    """``inputs = { raw = "prep" }``: ``prep`` → each node the child lists under ``raw``."""
    edges: list[EdgeEntry] = []
    for name, feeder in sorted(include.inputs.items()):
        takers = child.inputs.get(name)
        if takers is None:
            declared = ", ".join(sorted(child.inputs)) or "none"
            raise BundleError(
                f"{frame.origin}: include {include.namespace!r}: {child.name!r} declares no "
                f"input {name!r} (its inputs: {declared})"
            )
        source = _qualify(frame.namespace, feeder)
        edges.extend(EdgeEntry(source, f"{namespace}.{taker}", name) for taker in takers)
    return edges


def _qualify(namespace: str, name: str) -> str:
    return f"{namespace}.{name}" if namespace else name


def _child_of(include: ResolvedInclude, parent: str) -> bool:
    """Whether ``include`` is directly inside the include ``parent`` (not deeper)."""
    namespace = include.namespace
    return namespace.startswith(f"{parent}.") and "." not in namespace[len(parent) + 1 :]


def _check_graph(part: _Part, origin: str) -> None:
    """Every edge between existing nodes, each slot of a node used once, no cycle at all."""
    names: set[str] = set()
    for node in part.nodes:
        if node.name in names:
            raise BundleError(f"{origin}: two nodes are named {node.name!r}")
        names.add(node.name)
    slots: set[tuple[str, str]] = set()
    for edge in part.edges:
        for end in (edge.parent, edge.child):
            if end not in names:
                namespace, _, key = end.rpartition(".")
                raise BundleError(
                    f"{origin}: edge {edge.parent} → {edge.child}: include {namespace!r} has no "
                    f"node {key!r}"
                )
        if (edge.child, edge.slot) in slots:
            raise BundleError(
                f"{origin}: slot {edge.slot!r} of {edge.child!r} is fed twice "
                "(an edge and an include input, or two inputs)"
            )
        slots.add((edge.child, edge.slot))
    children: dict[str, list[str]] = {}
    for edge in part.edges:
        children.setdefault(edge.parent, []).append(edge.child)
    cycle = find_cycle(children)
    if cycle:
        raise BundleError(f"{origin}: cycle: {' → '.join(cycle)}")
