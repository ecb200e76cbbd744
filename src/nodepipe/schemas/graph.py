"""A pipeline's graph as both interfaces show it (nodes in place, edges with slots, groups),
and the effective state of its nodes with the reasons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import AliasPath, BeforeValidator, Field

from nodepipe.domain.states import NodeState
from nodepipe.schemas.base import Schema
from nodepipe.schemas.projects import LineagePublic, PipelinePublic, ProjectPublic


def _of_node(name: str) -> AliasPath:
    """Where a canvas node reads ``name`` from: the node itself (not its place)."""
    return AliasPath("node", name)


def _of_place(name: str) -> AliasPath:
    """Where a canvas node reads ``name`` from: its place in the pipeline."""
    return AliasPath("membership", name)


class CanvasNode(Schema):  # reads a PipelineNode: the node, its membership, its role
    """A node as one pipeline shows it: its effective (computed) state and reasons, flags, and
    its place on the canvas."""

    id: str = Field(validation_alias=_of_node("id"))
    tag: str = Field(validation_alias=_of_node("tag"))
    notes: str = Field(validation_alias=_of_node("notes"))
    state: NodeState = Field(validation_alias=_of_node("state"))
    state_reason: str = Field(validation_alias=_of_node("state_reason"))
    locked: bool = Field(validation_alias=_of_node("locked"))
    reference: bool = Field(
        validation_alias="is_reference",
        description="Shown here by reference: read-only in this pipeline.",
    )
    owner_pipeline_id: str = Field(validation_alias=_of_node("owner_pipeline_id"))
    isolation: str = Field(
        description="'own' environment, 'shared:NAME', or 'interpreter:PATH' (not isolated)."
    )
    x: float = Field(validation_alias=_of_place("x"))
    y: float = Field(validation_alias=_of_place("y"))
    group_id: str | None = Field(validation_alias=_of_place("group_id"))


class EdgePublic(Schema):
    parent_id: str
    child_id: str
    slot: str


class GroupPublic(Schema):
    id: str
    name: str
    collapsed: bool


class UngroupedNodePublic(Schema):
    node_id: str
    tag: str
    group: str | None = Field(
        description="The group it was taken out of; null: it was in no group, and stays so."
    )


class UngroupedPublic(Schema):
    """What an ungrouping did: the nodes taken out of their groups, and those in none."""

    ungrouped: list[UngroupedNodePublic]
    in_no_group: list[UngroupedNodePublic]


class AddedNodePublic(Schema):
    node_id: str
    tag: str
    moved_from: str | None = Field(
        description="The group it was moved from (a node is in at most one group); null: it "
        "was in no group (or, among already_in, it was in this group already)."
    )


class GroupChangePublic(Schema):  # reads a GroupChange
    """A group as a change left it, and what the change did to its members: the nodes added
    (each with the group it was moved from), those that were in it already (not counted as
    added), and those taken out of it."""

    id: str = Field(validation_alias=AliasPath("group", "id"))
    name: str = Field(validation_alias=AliasPath("group", "name"))
    collapsed: bool = Field(validation_alias=AliasPath("group", "collapsed"))
    added: list[AddedNodePublic]
    already_in: list[AddedNodePublic]
    removed: list[UngroupedNodePublic]


class PipelineGraph(Schema):  # reads a PipelineView
    """The whole pipeline in one answer, read in a fixed number of queries."""

    pipeline: PipelinePublic
    project: ProjectPublic
    nodes: list[CanvasNode]
    edges: list[EdgePublic]
    groups: list[GroupPublic]
    lineage: list[LineagePublic]
    declared_inputs: dict[str, list[str]] = Field(
        description="The inputs the pipeline declares as a bundle ([inputs]: what it needs "
        "when it is included elsewhere): input name → the ids of its nodes that take it."
    )


class NodeStatusPublic(Schema):  # reads a NodeStatusView
    """A node's effective state (a completed node whose inputs changed is stale) and why."""

    node_id: str
    tag: str = Field(validation_alias=AliasPath("item", "node", "tag"))
    state: NodeState
    reasons: list[str]
    own_reasons: list[str]


def _values(nodes: object) -> object:
    """A pipeline status keeps its nodes by id: the answer lists them, in the same order."""
    return list(nodes.values()) if isinstance(nodes, Mapping) else nodes


class PipelineStatusPublic(Schema):  # reads a PipelineStatus
    pipeline_id: str = Field(validation_alias=AliasPath("view", "pipeline", "id"))
    nodes: Annotated[list[NodeStatusPublic], BeforeValidator(_values)]
