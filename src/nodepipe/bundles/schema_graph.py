"""The graph rules of one ``pipeline.toml``: node references, edges, inputs and cycles.

A node is referred to by its key (a node of this file) or by ``NS.key`` (node ``key`` of the
include ``NS``; whether the include has it is known only once it is resolved). An edge's slot
follows the slot rule; left out, it is the child's next free numbered slot (``01``, ``02``...).
Each wrong reference, edge or input is noted on the reader and left out, so one reading finds
them all (``TomlReader.finish`` refuses them together).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nodepipe.bundles.model import EdgeEntry, IncludeEntry
from nodepipe.bundles.toml_reader import TomlReader
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.names import next_free_slot, validate_name, validate_slot

EDGE_KEYS = ("from", "to", "slot")


def split_reference(name: str, namespaces: Iterable[str]) -> tuple[str, str] | None:
    """``("features", "clean")`` for ``features.clean`` when ``features`` is a namespace."""
    namespace, dot, key = name.partition(".")
    return (namespace, key) if dot and key and namespace in set(namespaces) else None


def reference_problem(name: str, keys: set[str], namespaces: set[str]) -> str | None:
    """Why ``name`` names no node here nor ``NS.key`` of a declared include (None if it does)."""
    if name in keys:
        return None
    split = split_reference(name, namespaces)
    if split is not None:
        try:
            validate_name(split[1], "node tag")
        except InvalidInputError as exc:
            return str(exc)
        return None
    known = ", ".join(sorted(keys)) or "none"
    includes = f"; includes: {', '.join(sorted(namespaces))}" if namespaces else ""
    return f"no node {name!r} here (nodes: {known}{includes})"


def check_node_keys(reader: TomlReader, keys: set[str], namespaces: set[str]) -> None:
    """Note each node key that reads like ``NS.key`` of an include (``features.clean``)."""
    for key in sorted(keys):
        split = split_reference(key, namespaces)
        if split is not None:
            message = f"node {key!r} is named like node {split[1]!r} of include {split[0]!r}"
            reader.note(reader.error(message, ("nodes",), key))


def read_inputs(reader: TomlReader, value: Any, keys: set[str]) -> dict[str, tuple[str, ...]]:
    """``[inputs]``: input name (a slot label, since it becomes one) → nodes here taking it."""
    table = reader.table(value, (), "inputs")
    inputs: dict[str, tuple[str, ...]] = {}
    for name, nodes in table.items():
        takers = reader.attempt(None, _input, reader, name, nodes, keys)
        if takers is not None:
            inputs[name] = takers
    return inputs


def _input(reader: TomlReader, name: str, nodes: Any, keys: set[str]) -> tuple[str, ...]:
    reader.checked(("inputs",), name, validate_slot, name)
    if not isinstance(nodes, list) or not nodes or not all(isinstance(n, str) for n in nodes):
        message = f'input {name!r} must list the nodes taking it, e.g. {name} = ["clean"]'
        raise reader.error(message, ("inputs",), name)
    for node in nodes:
        if node not in keys:
            message = f"input {name!r} names {node!r}, which is no node of this pipeline"
            raise reader.error(message, ("inputs",), name)
    return tuple(sorted(set(nodes)))


def check_inputs_free(
    reader: TomlReader, inputs: Mapping[str, Iterable[str]], edges: Iterable[EdgeEntry]
) -> None:
    """Note each input taken by a node that already reads that slot from a node of the bundle
    (an edge to it on that slot): whoever feeds the input would feed a slot that is taken."""
    feeding = {(edge.child, edge.slot): edge.parent for edge in edges}
    for name in sorted(inputs):
        for node in sorted(inputs[name]):
            parent = feeding.get((node, name))
            if parent is not None:
                message = (
                    f"input {name!r} names {node!r}, which already reads slot {name!r} from "
                    f"{parent!r} (edge {parent} → {node}); an input is taken on a slot no node "
                    "of the bundle feeds"
                )
                reader.note(reader.error(message, ("inputs",), name))


def read_edges(
    reader: TomlReader, value: Any, keys: set[str], namespaces: set[str]
) -> tuple[EdgeEntry, ...]:
    """``[[edges]]``: each ``from``/``to`` a node reference, each child slot used once. A
    wrong edge is noted (``TomlReader.note``) and left out; the others are read."""
    if not isinstance(value, list):
        reader.note(reader.error("'edges' must be written as [[edges]] tables", (), "edges"))
        return ()
    edges: list[EdgeEntry] = []
    pairs: set[tuple[str, str]] = set()  # (parent, child) of the edges read: one look each
    slots: dict[str, set[str]] = {}
    for index, item in enumerate(value):
        edge = reader.attempt(None, _edge, reader, item, index, pairs, slots, keys, namespaces)
        if edge is not None:
            slots.setdefault(edge.child, set()).add(edge.slot)
            pairs.add((edge.parent, edge.child))
            edges.append(edge)
    return tuple(sorted(edges, key=lambda e: (e.parent, e.child, e.slot)))


def _edge(
    reader: TomlReader,
    item: Any,
    index: int,
    pairs: set[tuple[str, str]],
    slots: dict[str, set[str]],
    keys: set[str],
    namespaces: set[str],
) -> EdgeEntry:
    """The edge ``item`` (the ``index``-th), checked against the edges read before it (their
    ``(parent, child)`` pairs)."""
    address = ("edges", index)
    if not isinstance(item, dict):
        raise reader.error("'edges' must be written as [[edges]] tables", (), "edges")
    reader.note_unknown_keys(item, EDGE_KEYS, address)
    parent, child = (_end(reader, item, end, address, keys, namespaces) for end in ("from", "to"))
    used = slots.get(child, set())
    slot = item.get("slot")
    slot = next_free_slot(used) if slot is None else reader.string(slot, address, "slot")
    reader.checked(address, "slot", validate_slot, slot)
    _check_edge(reader, pairs, EdgeEntry(parent, child, slot), used, namespaces, address)
    return EdgeEntry(parent, child, slot)


def _end(
    reader: TomlReader,
    item: dict[str, Any],
    end: str,
    address: tuple[str | int, ...],
    keys: set[str],
    namespaces: set[str],
) -> str:
    if end not in item:
        raise reader.error(f"an edge has no {end!r}", address[:-1], "edges")
    name = reader.string(item[end], address, end)
    problem = reference_problem(name, keys, namespaces)
    if problem:
        raise reader.error(f"edge {end} {name!r}: {problem}", address, end)
    return name


def _check_edge(
    reader: TomlReader,
    pairs: set[tuple[str, str]],
    edge: EdgeEntry,
    used: set[str],
    namespaces: set[str],
    address: tuple[str | int, ...],
) -> None:
    where = f"edge {edge.parent} → {edge.child}"
    parent_ns, child_ns = (split_reference(n, namespaces) for n in (edge.parent, edge.child))
    if parent_ns and child_ns and parent_ns[0] == child_ns[0]:
        message = f"{where}: both ends are in include {parent_ns[0]!r}; write it in its own file"
        raise reader.error(message, address, "from")
    if (edge.parent, edge.child) in pairs:
        raise reader.error(f"{where} is written twice", address, "from")
    if edge.slot in used:
        message = f"{where}: slot {edge.slot!r} of {edge.child!r} is already taken"
        raise reader.error(message, address, "slot")


def check_include_inputs(
    reader: TomlReader, includes: Iterable[IncludeEntry], keys: set[str], namespaces: set[str]
) -> None:
    """Each include's ``inputs`` maps a slot-like name to a node here or of another include."""
    for include in includes:
        for name, node in include.inputs.items():
            reader.attempt(None, _include_input, reader, include, name, node, keys, namespaces)


def _include_input(
    reader: TomlReader,
    include: IncludeEntry,
    name: str,
    node: str,
    keys: set[str],
    namespaces: set[str],
) -> None:
    address = ("includes", include.namespace)
    reader.checked(address, "inputs", validate_slot, name)
    problem = reference_problem(node, keys, namespaces)
    split = split_reference(node, namespaces)
    if split is not None and split[0] == include.namespace:
        problem = f"it is a node of {include.namespace!r} itself"
    if problem:
        raise reader.error(f"input {name!r} ← {node!r}: {problem}", address, "inputs")


def check_acyclic(reader: TomlReader, edges: Iterable[EdgeEntry], keys: set[str]) -> None:
    """Refuse a cycle among this file's own nodes, naming it: ``cycle: a → b → a``."""
    children: dict[str, list[str]] = {key: [] for key in keys}
    for edge in edges:  # one pass: a file may hold 20,000 nodes and as many edges
        if edge.parent in keys and edge.child in keys:
            children[edge.parent].append(edge.child)
    cycle = find_cycle({key: sorted(found) for key, found in children.items()})
    if cycle:
        raise reader.error(f"cycle: {' → '.join(cycle)}", (), "edges")


def find_cycle(children: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle of the graph (first name repeated at the end), searched in sorted order."""
    done: set[str] = set()
    for start in sorted(children):
        if start in done:
            continue
        path = [start]
        on_path = {start}
        pending = [iter(sorted(children.get(start, ())))]
        while pending:
            child = next(pending[-1], None)
            if child is None:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                pending.pop()
                continue
            if child in on_path:
                return [*path[path.index(child) :], child]
            if child not in done:
                path.append(child)
                on_path.add(child)
                pending.append(iter(sorted(children.get(child, ()))))
    return None
