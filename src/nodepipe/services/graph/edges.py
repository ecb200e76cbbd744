"""Use cases on edges: connect a parent to a child's slot (one edge or many at once),
disconnect them.

``connect_many`` is the batch form: every name resolved by one query, one cycle check over the
edges below the children and the new edges together, one insert, one pass that keeps parents
shown and one staleness marking, all in one transaction, so either every edge is made or none.
``connect`` is the batch of one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from graphlib import CycleError as GraphCycle
from graphlib import TopologicalSorter

from nodepipe.domain.errors import (
    ConflictError,
    CycleError,
    InvalidInputError,
    NameTakenError,
    NotFoundError,
)
from nodepipe.domain.graph import cycle_if_connected
from nodepipe.domain.model import Edge, Node, Pipeline
from nodepipe.domain.names import listed, next_free_slot, validate_slot
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.membership import keep_parents_shown
from nodepipe.services.graph.staleness import mark_inputs_changed
from nodepipe.services.guards import check_node_editable, check_pipeline_editable
from nodepipe.store.light_edges import EdgeWrites
from nodepipe.workspace.crash_points import crash_point

Link = tuple[str, str] | tuple[str, str, str | None]
"""(parent, child) or (parent, child, slot): names as users type them (id, tag or prefix)."""


def _check_link(link: object) -> None:
    """Refuse what is not ``(parent, child)`` or ``(parent, child, slot)`` of names."""
    if (
        isinstance(link, str)
        or not isinstance(link, tuple | list)
        or len(link) not in (2, 3)
        or not all(isinstance(name, str) for name in link[:2])
        or (len(link) == 3 and link[2] is not None and not isinstance(link[2], str))
    ):
        raise InvalidInputError(
            f"each link is (parent, child) or (parent, child, slot), names as text; got {link!r}"
        )
    if len(link) == 3 and link[2] is not None:
        validate_slot(link[2])


def _editable_endpoints(
    session: EdgeWrites, parent: str, child: str, pipeline: str
) -> tuple[Node, Node]:
    """Resolve both ends in ``pipeline``; the child's inputs must be editable there."""
    target = resolver.pipeline(session, pipeline)
    check_pipeline_editable(target)
    parent_node = resolver.node(session, parent, target)
    child_node = resolver.node(session, child, target)
    check_node_editable(session, child_node, target)
    return parent_node, child_node


def _new_edges(
    session: EdgeWrites, target: Pipeline, links: Sequence[Link]
) -> tuple[list[Edge], dict[str, Node]]:
    """The edges ``links`` ask for, slots given or next free; refused when one is already
    there, listed twice, or takes a slot in use. Returns them and the nodes by id."""
    named = resolver.nodes_named(session, {name for link in links for name in link[:2]}, target)
    by_id = {node.id: node for node in named.values()}
    children = {named[link[1]].id for link in links}
    for child_id in sorted(children):
        check_node_editable(session, by_id[child_id], target)
    existing: dict[tuple[str, str], Edge] = {}
    used: dict[str, set[str]] = defaultdict(set)
    for edge in session.edges_into(children):
        existing[(edge.parent_id, edge.child_id)] = edge
        used[edge.child_id].add(edge.slot)
    made: list[Edge] = []
    for link in links:
        parent, child = named[link[0]], named[link[1]]
        slot = link[2] if len(link) == 3 else None
        before = existing.get((parent.id, child.id))
        if before is not None:
            listed = " (listed twice)" if before in made else ""
            raise ConflictError(
                f"{parent.tag} is already input {before.slot} of {child.tag}{listed}"
            )
        if slot is not None and slot in used[child.id]:
            # a slot is the name of an input on its child: a form says it beside the slot
            raise NameTakenError(f"slot {slot} of {child.tag} is already connected", "slot")
        edge = Edge(parent.id, child.id, slot or next_free_slot(used[child.id]))
        used[child.id].add(edge.slot)
        existing[(parent.id, child.id)] = edge
        made.append(edge)
    return made, by_id


def _refuse_cycles(session: EdgeWrites, made: list[Edge], by_id: dict[str, Node]) -> None:
    """Refuse the batch when its edges, with the edges below their children, hold a cycle:
    name the first new edge that closes one, and the cycle (as a single connect would)."""
    below = session.edges_below({edge.child_id for edge in made})
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for edge in [*below, *made]:
        sorter.add(edge.child_id, edge.parent_id)
    try:
        sorter.prepare()
    except GraphCycle:
        pass
    else:
        return
    accepted = list(below)
    for edge in made:
        cycle = cycle_if_connected(edge.parent_id, edge.child_id, accepted)
        if cycle is not None:
            tags = {n.id: n.tag for n in session.get_nodes(cycle).values()}
            names = " → ".join(tags[node_id] for node_id in cycle)
            raise CycleError(
                f"cannot connect {by_id[edge.parent_id].tag} → {by_id[edge.child_id].tag}: it "
                f"would close the cycle {names}; nothing was changed",
                cycle=cycle,
            )
        accepted.append(edge)
    raise AssertionError("graphlib found a cycle that no new edge closes")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class EdgeService:
    """Connecting and disconnecting nodes, each edit one ``Store.edge_write()`` transaction."""

    context: WorkspaceContext

    def connect(self, parent: str, child: str, pipeline: str, slot: str | None = None) -> Edge:
        """Make ``parent``'s outputs input ``slot`` (next free ``01``, ``02``... by default)."""
        return self.connect_many(pipeline, [(parent, child, slot)])[0]

    def connect_many(self, pipeline: str, links: Iterable[Link]) -> list[Edge]:
        """Make every edge of ``links`` in one transaction, in order, or none of them.

        Each link is ``(parent, child)`` or ``(parent, child, slot)``; a child's new inputs
        take the next free slots in the order listed. Refused, with nothing connected: an
        unknown or ambiguous name, a child that is read-only here, an edge already there or
        listed twice, a slot in use, or a cycle the edges would close together.
        """
        links = listed(links, "the links, each (parent, child)")
        for link in links:
            _check_link(link)
        with self.context.store.edge_write() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            if not links:
                return []
            made, by_id = _new_edges(session, target, links)
            _refuse_cycles(session, made, by_id)
            session.insert_edges(made)
            crash_point("edges.inserted")
            keep_parents_shown(session, {edge.child_id for edge in made})
            reasons: dict[str, list[str]] = defaultdict(list)
            for edge in made:
                reasons[edge.child_id].append(
                    f"{edge.slot} connected to {by_id[edge.parent_id].tag}"
                )
            mark_inputs_changed(
                session,
                {
                    child: ("input " if len(why) == 1 else "inputs ") + ", ".join(why)
                    for child, why in reasons.items()
                },
            )
            crash_point("edges.marked")
            return made

    def disconnect(self, parent: str, child: str, pipeline: str) -> Edge:
        with self.context.store.edge_write() as session:
            parent_node, child_node = _editable_endpoints(session, parent, child, pipeline)
            edge = next(
                (e for e in session.edges_into([child_node.id]) if e.parent_id == parent_node.id),
                None,
            )
            if edge is None:
                raise NotFoundError(f"{parent_node.tag} is not an input of {child_node.tag}")
            session.delete_edge(parent_node.id, child_node.id)
            crash_point("edges.deleted")
            mark_inputs_changed(
                session,
                {child_node.id: f"input {edge.slot} ({parent_node.tag}) disconnected"},
            )
            crash_point("edges.marked")
            return edge
