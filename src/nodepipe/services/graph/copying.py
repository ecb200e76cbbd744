"""Copying a set of nodes into a pipeline: new ids, remapped internal edges, outside parents.

Used by node duplication, detach, branch, pipeline duplication and merge. Internal edges
(between copied nodes) point at the copies; an edge from a node outside the set keeps its
parent and slot, and the target pipeline shows that parent (as a reference if need be).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nodepipe.domain.errors import ConflictError
from nodepipe.domain.graph import topological_order
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Edge, Membership, Node
from nodepipe.domain.states import ACTIVE_STATES, NodeState
from nodepipe.services.context import now
from nodepipe.services.graph.membership import ROW_HEIGHT, show_with_ancestors

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession


@dataclass(frozen=True, slots=True)
class CopyPlan:
    """Which nodes to copy where: ``id_map`` maps each source id to its copy's id."""

    target_pipeline_id: str
    id_map: dict[str, str]
    positions: dict[str, tuple[float, float]]
    with_data: bool
    tags: dict[str, str] = field(default_factory=dict)
    """Source id -> the copy's tag, where it is not the source's."""


def positions_in(
    session: StoreSession, pipeline_id: str, node_ids: Collection[str] | None = None
) -> dict[str, tuple[float, float]]:
    """Canvas positions of the nodes shown in ``pipeline_id`` (of ``node_ids``, when given:
    only their memberships are read)."""
    shown = (
        session.memberships_of_pipeline(pipeline_id)
        if node_ids is None
        else session.memberships_of(pipeline_id, node_ids).values()
    )
    return {m.node_id: (m.x, m.y) for m in shown}


def plan_copies(
    session: StoreSession,
    source_ids: Iterable[str],
    layout: Mapping[str, tuple[float, float]],
    target_pipeline_id: str | None,
    with_data: bool,
) -> CopyPlan:
    """Plan copies of ``source_ids``, laid out as in ``layout``.

    With an existing target, the block goes below what the target already shows; for a target
    still to be created (``None``) the positions are kept as they are.
    """
    sources = list(dict.fromkeys(source_ids))
    id_map = {source: new_id() for source in sources}
    block = {s: layout.get(s, (0.0, 0.0)) for s in sources}
    shift = 0.0
    if target_pipeline_id is not None:
        bottom = session.lowest_y(target_pipeline_id)
        if bottom is not None and block:
            shift = bottom + ROW_HEIGHT - min(y for _, y in block.values())
    positions = {id_map[s]: (x, y + shift) for s, (x, y) in block.items()}
    return CopyPlan(target_pipeline_id or "", id_map, positions, with_data)


def copied_state(source: Node, with_data: bool) -> tuple[NodeState, str]:
    """A copy without data never ran; with data it carries the source's standing."""
    if not with_data or source.state in ACTIVE_STATES or source.state is NodeState.READY:
        return NodeState.READY, ""
    return source.state, source.state_reason


def insert_copies(session: StoreSession, plan: CopyPlan, target_pipeline_id: str) -> list[Node]:
    """Write the rows of the copies planned in ``plan`` into ``target_pipeline_id``."""
    sources = session.get_nodes(plan.id_map)
    missing = set(plan.id_map) - set(sources)
    if missing:
        raise ConflictError(f"nodes {sorted(missing)} were deleted meanwhile; nothing was copied")
    inputs = session.edges_into(plan.id_map)
    created: list[Node] = []
    for source_id in topological_order(plan.id_map, inputs):
        source = sources[source_id]
        state, reason = copied_state(source, plan.with_data)
        copy = Node(
            id=plan.id_map[source_id],
            tag=plan.tags.get(source_id, source.tag),
            notes=source.notes,
            state=state,
            state_reason=reason,
            locked=False,
            owner_pipeline_id=target_pipeline_id,
            created_at=now(),
        )
        session.insert_node(copy)
        x, y = plan.positions[copy.id]
        session.insert_membership(Membership(target_pipeline_id, copy.id, x, y))
        created.append(copy)
    for edge in inputs:
        parent = plan.id_map.get(edge.parent_id, edge.parent_id)
        session.insert_edge(Edge(parent, plan.id_map[edge.child_id], edge.slot))
    show_with_ancestors(session, target_pipeline_id, [n.id for n in created])
    return created
