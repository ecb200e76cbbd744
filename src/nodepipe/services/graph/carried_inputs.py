"""The bundle inputs a pipeline made from others (branch, duplicate, merge) remembers.

Each source's declared inputs (``[inputs]``: input name → the ids of the nodes taking it) are
carried to the new pipeline: a node copied takes its source's inputs on its copy, a node shown
by reference keeps its own, a node the new pipeline does not show (the part of a pipeline a
branch leaves out) leaves them. A merge remembers the union: when two sources declare one
name taken by different nodes, the new pipeline declares one input of that name taken by all
of them (whoever includes it feeds them from one node), and the merge says so
(:class:`Clash`), so that nothing declared is dropped without a word.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Clash:
    """An input name two or more sources declare, taken by different nodes."""

    name: str
    declared: tuple[tuple[str, tuple[str, ...]], ...]
    """Each source declaring it (pipeline id) and the ids of its takers in the new pipeline."""


@dataclass(frozen=True, slots=True)
class CarriedInputs:
    inputs: dict[str, tuple[str, ...]]
    """What the new pipeline declares: input name → node ids (sorted)."""
    clashes: tuple[Clash, ...]


def carried_inputs(
    sources: Sequence[tuple[str, Mapping[str, Collection[str]]]],
    moves: Mapping[str, str],
    shown: Collection[str],
) -> CarriedInputs:
    """The inputs a new pipeline showing ``shown`` declares, from each source's (pipeline id
    and its declared inputs, in the sources' order), each node of ``moves`` replaced by its
    copy."""
    kept = set(shown)
    mapped: list[tuple[str, dict[str, tuple[str, ...]]]] = []
    for source_id, declared in sources:
        taking: dict[str, tuple[str, ...]] = {}
        for name, node_ids in declared.items():
            found = sorted({moves.get(i, i) for i in node_ids} & kept)
            if found:
                taking[name] = tuple(found)
        mapped.append((source_id, taking))
    union: dict[str, set[str]] = {}
    for _, taking in mapped:
        for name, node_ids in taking.items():
            union.setdefault(name, set()).update(node_ids)
    clashes = []
    for name in sorted(union):
        declared_by = tuple((s, taking[name]) for s, taking in mapped if name in taking)
        if len({node_ids for _, node_ids in declared_by}) > 1:
            clashes.append(Clash(name, declared_by))
    inputs = {name: tuple(sorted(node_ids)) for name, node_ids in sorted(union.items())}
    return CarriedInputs(inputs, tuple(clashes))
