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

Problems are gathered, not stopped at: an include that cannot be read is noted and the others
are resolved; the graph is checked whole (edges into a failed include are not refused again);
then everything found is refused together (``errors.refuse_all``).

A bundle from anyone may nest deep or include one bundle many times over (a diamond of
includes doubles at each level): an include whose nodes' names would be longer than a tag may
be is refused before it is read (so nesting stops at about 50 levels), and a resolution that
meets more than ``MAX_INCLUDES`` includes or ``MAX_NODES`` nodes in all stops there, refused.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodepipe.bundles.content import content_hash
from nodepipe.bundles.definitions import definition_origin, readable_part
from nodepipe.bundles.errors import (
    BundleError,
    IncludeCycleError,
    IncludeNotFoundError,
    refuse_all,
)
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
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.names import MAX_NAME_LENGTH, validate_name

MAX_INCLUDES = 1_000
"""Includes one bundle may bring in all, at every depth (the same bundle counted each time)."""
MAX_NODES = 20_000
"""Nodes one bundle may bring in all, its own and its includes' (as many as an archive's
members)."""


class _TooLargeError(BundleError):
    """A resolution past ``MAX_INCLUDES`` or ``MAX_NODES``: it stops at once."""


def resolve_bundle(
    source: str | Path,
    *,
    cwd: Path,
    loaders: Loaders = DEFAULT_LOADERS,
    storage_options: StorageOptions | None = None,
) -> ResolvedPipeline:
    """The bundle at ``source`` (a folder, a relative source, ``pkg:``, a URL) with every
    include resolved; ``cwd`` is the caller's current directory (absolute). Every problem
    found is refused together (``gather_bundle``)."""
    resolved, errors = gather_bundle(
        source, cwd=cwd, loaders=loaders, storage_options=storage_options
    )
    refuse_all(errors)
    assert resolved is not None  # no problem: it was resolved
    return resolved


def gather_bundle(
    source: str | Path,
    *,
    cwd: Path,
    loaders: Loaders = DEFAULT_LOADERS,
    storage_options: StorageOptions | None = None,
    confined: Path | None = None,
) -> tuple[ResolvedPipeline | None, list[BundleError]]:
    """``resolve_bundle`` reading on past problems: the pipeline (None when the root's own
    ``pipeline.toml`` cannot be read) and every problem found. A pipeline returned with
    problems is for telling them (``bundle check``), never for importing: it lacks the
    includes that failed, and its content hash is empty when its files cannot be hashed.
    ``confined``: the folder of a bundle received from someone else (``lookup``), whose
    includes are looked for in it alone."""
    if not cwd.is_absolute():
        raise ValueError(f"cwd must be an absolute directory, not {cwd}")
    options = storage_options or frozen_mapping()
    try:
        files = locate_root(source, cwd=cwd, loaders=loaders, storage_options=options)
    except BundleError as error:
        return None, [error]
    try:
        definition, digest = loaders.of(files.location).definitions.definition(files)
    except BundleError as error:
        partial, found = _readable_part(files, loaders, cwd, options)
        return partial, [error, *found]
    root = _Frame(definition, files, "", (files.location,), (definition.name,))
    resolver = _Resolver(loaders, cwd, options, confined)
    try:
        part = resolver.expand(root, definition.params)
    except _TooLargeError as error:
        return None, [BundleError(f"{root.origin}: {error}")]
    errors = [*resolver.errors, *_graph_errors(part, definition_origin(files), resolver.failed)]
    nested = [(i.namespace, i.content_hash) for i in part.includes if "." not in i.namespace]
    try:
        hashed = content_hash(files, definition, digest, nested)
    except BundleError as error:
        errors.append(error)
        hashed = ""
    resolved = ResolvedPipeline(
        definition,
        files.location,
        tuple(part.nodes),
        tuple(part.edges),
        tuple(part.includes),
        files,
        hashed,
    )
    return resolved, errors


def _readable_part(
    files: BundleFiles, loaders: Loaders, cwd: Path, options: StorageOptions
) -> tuple[ResolvedPipeline | None, list[BundleError]]:
    """The nodes of a root whose ``pipeline.toml`` has mistakes that read all the same
    (``definitions.readable_part``), resolved, with the problems resolving them found, so
    that their own problems are told with the file's; None when none read. Never imported:
    the file's mistakes refuse it."""
    partial = readable_part(files)
    if partial is None:
        return None, []
    root = _Frame(partial, files, "", (files.location,), (partial.name,))
    resolver = _Resolver(loaders, cwd, options)
    try:
        part = resolver.expand(root, partial.params)
    except _TooLargeError as error:
        return None, [BundleError(f"{root.origin}: {error}")]
    resolved = ResolvedPipeline(partial, files.location, tuple(part.nodes), (), (), files, "")
    return resolved, resolver.errors


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
    confined: Path | None = None
    errors: list[BundleError] = field(default_factory=list)
    """The includes that could not be resolved, and why (the others are)."""
    failed: set[str] = field(default_factory=set)
    """The qualified namespaces of those includes."""
    counted: list[int] = field(default_factory=lambda: [0, 0])
    """The includes and the nodes met so far (``MAX_INCLUDES``, ``MAX_NODES``)."""

    def expand(self, frame: _Frame, params: Mapping[str, Any]) -> _Part:
        """The nodes and edges of ``frame``'s bundle (``params`` applied) and of its includes."""
        definition, namespace = frame.definition, frame.namespace
        self._count(0, len(definition.nodes))
        merged = frozen_mapping(copy.deepcopy(dict(params)))
        part = _Part()
        for node in definition.nodes:
            if namespace:
                _check_qualified(frame, node.key, _qualify(namespace, node.key))
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
            try:
                self._include(frame, include, part)
            except _TooLargeError:
                raise
            except BundleError as error:
                self.errors.append(error)
                self.failed.add(_qualify(namespace, include.namespace))
        return part

    def _include(self, frame: _Frame, include: IncludeEntry, part: _Part) -> None:
        """Resolve one include of ``frame`` and add what it brings to ``part``."""
        namespace = _qualify(frame.namespace, include.namespace)
        if len(namespace) + len(".k") > MAX_NAME_LENGTH:
            raise BundleError(
                f"{frame.origin}: include {include.namespace!r}: its nodes would be named "
                f"{namespace[:40]}….KEY, longer than {MAX_NAME_LENGTH} characters (at include "
                f"depth {len(frame.stack)}); nest fewer or use shorter namespaces"
            )
        self._count(1, 0)
        files = self._locate(frame, include)
        location = files.location
        if location in frame.stack:
            start = frame.stack.index(location)
            chain = (*frame.names[start:], frame.names[start])
            raise IncludeCycleError(f"{frame.origin}: include cycle: {' → '.join(chain)}", chain)
        child, digest = self.loaders.of(location).definitions.definition(files)
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

    def _count(self, includes: int, nodes: int) -> None:
        """Count what one bundle brings; stop the whole resolution past a limit."""
        self.counted[0] += includes
        self.counted[1] += nodes
        for count, limit, what in (
            (self.counted[0], MAX_INCLUDES, "includes"),
            (self.counted[1], MAX_NODES, "nodes"),
        ):
            if count > limit:
                raise _TooLargeError(
                    f"the bundle brings more than {limit} {what} with its own (at every "
                    "depth; a bundle included twice counts twice); refused"
                )

    def _locate(self, frame: _Frame, include: IncludeEntry) -> BundleFiles:
        try:
            lookup = Lookup(self.cwd, frame.files, self.options, self.confined)
            return locate(include.source, lookup, self.loaders)
        except IncludeNotFoundError as exc:
            message = f"{frame.origin}: include {include.namespace!r}: {exc}"
            raise IncludeNotFoundError(message, exc.searched) from None
        except BundleError as exc:
            if str(exc).startswith(frame.origin):
                raise
            raise BundleError(f"{frame.origin}: include {include.namespace!r}: {exc}") from None


def _check_qualified(frame: _Frame, key: str, name: str) -> None:
    """Refuse an included node whose qualified ``name`` is not a usable tag (too long)."""
    try:
        validate_name(name, "node tag")
    except InvalidInputError as error:
        raise BundleError(f"{frame.origin}: node {key!r} cannot be included: {error}") from None


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


def _graph_errors(part: _Part, origin: str, failed: set[str]) -> list[BundleError]:
    """Every edge between existing nodes, each slot of a node used once, a node fed by
    another on one slot only, no cycle at all; an edge with an end in a ``failed`` include is
    left to that include's own problem."""
    errors: list[BundleError] = []
    names: set[str] = set()
    for node in part.nodes:
        if node.name in names:
            errors.append(BundleError(f"{origin}: two nodes are named {node.name!r}"))
        names.add(node.name)
    slots: set[tuple[str, str]] = set()
    fed: dict[tuple[str, str], str] = {}
    for edge in part.edges:
        if any(_in_failed(end, failed) for end in (edge.parent, edge.child)):
            continue
        missing = [end for end in (edge.parent, edge.child) if end not in names]
        for end in missing:
            namespace, _, key = end.rpartition(".")
            errors.append(
                BundleError(
                    f"{origin}: edge {edge.parent} → {edge.child}: include {namespace!r} has "
                    f"no node {key!r}"
                )
            )
        if (edge.child, edge.slot) in slots:
            errors.append(
                BundleError(
                    f"{origin}: slot {edge.slot!r} of {edge.child!r} is fed twice "
                    "(an edge and an include input, or two inputs)"
                )
            )
        slots.add((edge.child, edge.slot))
        other = fed.setdefault((edge.parent, edge.child), edge.slot)
        if other != edge.slot:
            errors.append(
                BundleError(
                    f"{origin}: {edge.parent} feeds {edge.child} twice (slots {other!r} and "
                    f"{edge.slot!r}: an edge and an include input, or two inputs); a node feeds "
                    "another on one slot only"
                )
            )
    children: dict[str, list[str]] = {}
    for edge in part.edges:
        children.setdefault(edge.parent, []).append(edge.child)
    cycle = find_cycle(children)
    if cycle:
        errors.append(BundleError(f"{origin}: cycle: {' → '.join(cycle)}"))
    return errors


def _in_failed(name: str, failed: set[str]) -> bool:
    """Whether node ``name`` belongs to one of the ``failed`` includes (at any depth)."""
    return any(name.startswith(f"{namespace}.") for namespace in failed)
