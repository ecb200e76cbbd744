"""Use cases on edges: connect a parent to a child's slot, disconnect them."""

from __future__ import annotations

from dataclasses import dataclass

from nodepipe.domain.errors import ConflictError, CycleError, NotFoundError
from nodepipe.domain.graph import cycle_if_connected
from nodepipe.domain.model import Edge, Node
from nodepipe.domain.names import next_free_slot, validate_slot
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.membership import keep_parents_shown
from nodepipe.services.graph.staleness import mark_inputs_changed
from nodepipe.services.guards import check_node_editable, check_pipeline_editable
from nodepipe.store.queries import StoreSession


def _editable_endpoints(
    session: StoreSession, parent: str, child: str, pipeline: str
) -> tuple[Node, Node]:
    """Resolve both ends in ``pipeline``; the child's inputs must be editable there."""
    target = resolver.pipeline(session, pipeline)
    check_pipeline_editable(target)
    parent_node = resolver.node(session, parent, target)
    child_node = resolver.node(session, child, target)
    check_node_editable(session, child_node, target)
    return parent_node, child_node


@dataclass(frozen=True, slots=True)
class EdgeService:
    context: WorkspaceContext

    def connect(self, parent: str, child: str, pipeline: str, slot: str | None = None) -> Edge:
        """Make ``parent``'s outputs input ``slot`` (next free ``01``, ``02``... by default)."""
        if slot is not None:
            validate_slot(slot)
        with self.context.store.write() as session:
            parent_node, child_node = _editable_endpoints(session, parent, child, pipeline)
            inputs = session.edges_into([child_node.id])
            for edge in inputs:
                if edge.parent_id == parent_node.id:
                    raise ConflictError(
                        f"{parent_node.tag} is already input {edge.slot} of {child_node.tag}"
                    )
            used = {edge.slot for edge in inputs}
            if slot is not None and slot in used:
                raise ConflictError(f"slot {slot} of {child_node.tag} is already connected")
            # a cycle would run from the child down to the parent: the edges below the child hold it
            below = session.edges_below([child_node.id])
            cycle = cycle_if_connected(parent_node.id, child_node.id, below)
            if cycle is not None:
                tags = {n.id: n.tag for n in session.get_nodes(cycle).values()}
                names = " → ".join(tags[node_id] for node_id in cycle)
                raise CycleError(
                    f"cannot connect {parent_node.tag} → {child_node.tag}: it would close the "
                    f"cycle {names}; nothing was changed",
                    cycle=cycle,
                )
            edge = Edge(parent_node.id, child_node.id, slot or next_free_slot(used))
            session.insert_edge(edge)
            keep_parents_shown(session, child_node.id)
            mark_inputs_changed(
                session, {child_node.id: f"input {edge.slot} connected to {parent_node.tag}"}
            )
            return edge

    def disconnect(self, parent: str, child: str, pipeline: str) -> Edge:
        with self.context.store.write() as session:
            parent_node, child_node = _editable_endpoints(session, parent, child, pipeline)
            edge = next(
                (e for e in session.edges_into([child_node.id]) if e.parent_id == parent_node.id),
                None,
            )
            if edge is None:
                raise NotFoundError(f"{parent_node.tag} is not an input of {child_node.tag}")
            session.delete_edge(parent_node.id, child_node.id)
            mark_inputs_changed(
                session,
                {child_node.id: f"input {edge.slot} ({parent_node.tag}) disconnected"},
            )
            return edge
