"""A bundle resolved on its own, seen as included under a namespace of a workspace pipeline.

``pipeline include P SOURCE --as NS`` and ``--update NS`` resolve the bundle at SOURCE as a
top-level bundle, then qualify it: its nodes become ``NS.key`` (``NS.SUB.key`` for its own
includes), its includes ``NS.SUB``, and the include itself is recorded under ``NS``. Its
declared inputs become edges from the pipeline's nodes the ``--input`` options name, each on
the slot named after the input.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from nodepipe.bundles.model import (
    EdgeEntry,
    IncludeEntry,
    ResolvedInclude,
    ResolvedPipeline,
)
from nodepipe.domain.errors import Action, Hint, InvalidInputError
from nodepipe.domain.names import validate_name


def qualified(namespace: str, name: str) -> str:
    return f"{namespace}.{name}" if name else namespace


def as_included(
    resolved: ResolvedPipeline, entry: IncludeEntry, content_hash: str
) -> tuple[ResolvedPipeline, ResolvedInclude]:
    """``resolved`` under ``entry.namespace``, and the include recording it."""
    ns = entry.namespace
    nodes = tuple(
        replace(node, name=qualified(ns, node.name), namespace=qualified(ns, node.namespace))
        for node in resolved.nodes
    )
    edges = tuple(
        EdgeEntry(qualified(ns, e.parent), qualified(ns, e.child), e.slot) for e in resolved.edges
    )
    top = ResolvedInclude(ns, entry, resolved.location, content_hash, resolved.definition)
    nested = tuple(replace(i, namespace=qualified(ns, i.namespace)) for i in resolved.includes)
    return replace(resolved, nodes=nodes, edges=edges, includes=(top, *nested)), top


def check_included_names(
    resolved: ResolvedPipeline, namespace: str, existing: Collection[str] = ()
) -> None:
    """Refuse, before anything is written, an include whose nodes' qualified names
    (``resolved``, under ``namespace``) are not usable tags: a namespace so long that
    ``NS.key`` is longer than a tag may be. ``existing``: names already in the workspace (an
    update keeps them as they are)."""
    for node in resolved.nodes:
        if node.name in existing:
            continue
        try:
            validate_name(node.name, "node tag")
        except InvalidInputError as error:
            key = node.name.removeprefix(f"{namespace}.")
            raise InvalidInputError(
                f"node {key!r} of the bundle cannot be included as {namespace!r}: {error}; "
                "choose a shorter namespace"
            ) from None


def input_edges(
    resolved: ResolvedPipeline,
    namespace: str,
    inputs: Mapping[str, str],
    can_feed: bool = True,
    named: Mapping[str, str] | None = None,
) -> list[EdgeEntry]:
    """Edges feeding the included bundle's declared inputs: parent tag → ``NS.key`` on the
    slot named after the input. Every declared input must be fed, and only those.
    ``can_feed``: the operation takes inputs (an include; an update keeps the include's), so
    the error of an input not fed hints at feeding it. ``named``: how the error names the
    node feeding each input (its tag; ``inputs`` may hold ids)."""
    declared = resolved.definition.inputs
    unknown = sorted(set(inputs) - set(declared))
    missing = sorted(set(declared) - set(inputs))
    if not can_feed and (unknown or missing):
        feeders = {**inputs, **(named or {})}
        raise InputsChangedError(_changed_inputs(namespace, feeders, declared, unknown, missing))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise InvalidInputError(f"the bundle declares no input {unknown[0]!r} (inputs: {known})")
    if missing:
        raise InvalidInputError(
            f"the bundle's input {missing[0]!r} is not fed: name the node of the pipeline that "
            "feeds it",
            hint=Hint(Action.BUNDLE_INPUT, {"input": missing[0]}),
        )
    edges = [
        EdgeEntry(inputs[name], qualified(namespace, key), name)
        for name in sorted(declared)
        for key in declared[name]
    ]
    _check_feedable(resolved, namespace, edges, can_feed)
    return edges


class InputsChangedError(InvalidInputError):
    """The bundle of an include declares other inputs than the include feeds (one renamed,
    added or dropped): an update must be told which nodes feed them now."""


def _changed_inputs(
    namespace: str,
    inputs: Mapping[str, str],
    declared: Mapping[str, tuple[str, ...]],
    unknown: list[str],
    missing: list[str],
) -> str:
    """Why the include ``namespace`` feeding ``inputs`` cannot be updated as it is."""
    changes = [f"it no longer declares {name!r} (fed by {inputs[name]})" for name in unknown]
    changes += [f"it now declares {name!r}, which nothing feeds" for name in missing]
    wanted = ", ".join(f"{name}=NODE" for name in sorted(declared)) or "none"
    return (
        f"the bundle of include {namespace!r} changed its inputs: {'; '.join(changes)}; "
        f"nothing was changed. Update it naming the node of the pipeline that feeds each input "
        f"it declares now ({wanted})"
    )


def _check_feedable(
    resolved: ResolvedPipeline, namespace: str, edges: list[EdgeEntry], can_feed: bool
) -> None:
    """Refuse, before anything is written, feeding edges the graph cannot hold: a slot the
    bundle's own edges already feed (a bundle read today refuses such an input, an older
    reading may not have), or one node feeding a taker on two slots (a node feeds another on
    one slot only)."""
    taken = {(qualified(namespace, e.child), e.slot): e.parent for e in resolved.edges}
    fed: dict[tuple[str, str], str] = {}
    for edge in edges:
        parent = taken.get((edge.child, edge.slot))
        if parent is not None:
            raise InvalidInputError(
                f"the bundle's input {edge.slot!r} is taken by {edge.child}, which already reads "
                f"slot {edge.slot!r} from {qualified(namespace, parent)} in the bundle: the "
                "bundle cannot take that input"
            )
        other = fed.setdefault((edge.parent, edge.child), edge.slot)
        if other != edge.slot:
            raise InvalidInputError(
                f"node {edge.parent} would feed {edge.child} twice, as the bundle's inputs "
                f"{other!r} and {edge.slot!r} (both taken by {edge.child}): a node feeds another "
                "on one slot only; feed one of them from another node",
                hint=Hint(Action.BUNDLE_INPUT, {"input": edge.slot}) if can_feed else None,
            )
