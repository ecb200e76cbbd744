"""Bodies of a pipeline's graph as the canvas shows it: nodes in place, edges with slots, groups."""

from __future__ import annotations

from pydantic import Field

from nodepipe.api.schemas.common import Input, Schema
from nodepipe.api.schemas.fields import Coordinate, Name, Slot
from nodepipe.api.schemas.projects import LineagePublic, PipelinePublic, ProjectPublic
from nodepipe.domain.model import Edge, Group, PipelineNode, PipelineView
from nodepipe.domain.states import NodeState
from nodepipe.services.runs.status import NodeStatusView


class CanvasNode(Schema):
    """A node as one pipeline shows it: stored state, flags, and its place on the canvas."""

    id: str
    tag: str
    notes: str
    state: NodeState
    state_reason: str
    locked: bool
    reference: bool = Field(description="Shown here by reference: read-only in this pipeline.")
    owner_pipeline_id: str
    x: float
    y: float
    group_id: str | None

    @classmethod
    def of(cls, item: PipelineNode) -> CanvasNode:
        node, place = item.node, item.membership
        return cls(
            id=node.id,
            tag=node.tag,
            notes=node.notes,
            state=node.state,
            state_reason=node.state_reason,
            locked=node.locked,
            reference=item.is_reference,
            owner_pipeline_id=node.owner_pipeline_id,
            x=place.x,
            y=place.y,
            group_id=place.group_id,
        )


class EdgePublic(Schema):
    parent_id: str
    child_id: str
    slot: str

    @classmethod
    def of(cls, edge: Edge) -> EdgePublic:
        return cls(parent_id=edge.parent_id, child_id=edge.child_id, slot=edge.slot)


class GroupPublic(Schema):
    id: str
    name: str
    collapsed: bool

    @classmethod
    def of(cls, group: Group) -> GroupPublic:
        return cls(id=group.id, name=group.name, collapsed=group.collapsed)


class PipelineGraph(Schema):
    """The whole pipeline in one answer, read in a fixed number of queries."""

    pipeline: PipelinePublic
    project: ProjectPublic
    nodes: list[CanvasNode]
    edges: list[EdgePublic]
    groups: list[GroupPublic]
    lineage: list[LineagePublic]

    @classmethod
    def of(cls, view: PipelineView) -> PipelineGraph:
        return cls(
            pipeline=PipelinePublic.of(view.pipeline),
            project=ProjectPublic.of(view.project),
            nodes=[CanvasNode.of(item) for item in view.nodes],
            edges=[EdgePublic.of(edge) for edge in view.edges],
            groups=[GroupPublic.of(group) for group in view.groups],
            lineage=[LineagePublic.of(item) for item in view.lineage],
        )


class EdgeCreate(Input):
    parent: str
    child: str
    slot: Slot | None = Field(default=None, description="Input label on the child; next free.")


class GroupCreate(Input):
    name: Name
    nodes: list[str] = Field(min_length=1)


class GroupUpdate(Input):
    """Any of: rename, collapse or expand, add nodes, take nodes out of their group."""

    name: Name | None = None
    collapsed: bool | None = None
    add_nodes: list[str] | None = None
    remove_nodes: list[str] | None = None


class NodePosition(Input):
    node_id: str
    x: Coordinate
    y: Coordinate


class PositionsUpdate(Input):
    positions: list[NodePosition]


class PositionsPublic(Schema):
    placed: int


class NodeStatusPublic(Schema):
    """A node's effective state (a completed node whose inputs changed is stale) and why."""

    node_id: str
    state: NodeState
    reasons: list[str]
    own_reasons: list[str]

    @classmethod
    def of(cls, status: NodeStatusView) -> NodeStatusPublic:
        return cls(
            node_id=status.node_id,
            state=status.state,
            reasons=list(status.reasons),
            own_reasons=list(status.own_reasons),
        )


class PipelineStatusPublic(Schema):
    pipeline_id: str
    nodes: list[NodeStatusPublic]
