"""Frozen domain values: projects, pipelines, nodes, edges, memberships, groups and views.

Rows become these values at the store boundary; services and interfaces pass them around.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from nodepipe.domain.states import NodeState


@dataclass(frozen=True, slots=True)
class Project:
    """A project: a named group of pipelines."""

    id: str
    name: str
    notes: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A pipeline: a DAG of nodes, its own and those it references from others."""

    id: str
    tag: str
    project_id: str
    notes: str
    locked: bool
    created_at: datetime
    base_packages: tuple[str, ...] = ()
    """Requirements every node of the pipeline gets (each node then adds its own)."""


@dataclass(frozen=True, slots=True)
class Lineage:
    """How a pipeline came from another one: ``branch``, ``duplicate`` or ``merge``."""

    pipeline_id: str
    source_pipeline_id: str
    kind: str
    from_node_id: str | None = None


@dataclass(frozen=True, slots=True)
class Node:
    """A node: a folder of code, environment and outputs, owned by one pipeline."""

    id: str
    tag: str
    notes: str
    state: NodeState
    state_reason: str
    locked: bool
    owner_pipeline_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Edge:
    """``parent`` -> ``child``; ``slot`` is the label of this input on the child (``01``...)."""

    parent_id: str
    child_id: str
    slot: str


@dataclass(frozen=True, slots=True)
class Membership:
    """A node shown in a pipeline, at a canvas position, maybe inside a visual group."""

    pipeline_id: str
    node_id: str
    x: float
    y: float
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """A visual group of a pipeline's canvas (``collapsed``: drawn as one box)."""

    id: str
    pipeline_id: str
    name: str
    collapsed: bool


@dataclass(frozen=True, slots=True)
class PipelineNode:
    """A node as seen from one pipeline: its values plus its place and role there."""

    node: Node
    membership: Membership
    is_reference: bool
    isolation: str = "own"
    """``own`` environment, ``shared:NAME`` or ``interpreter:PATH`` (not isolated)."""

    @property
    def read_only(self) -> bool:
        return self.is_reference or self.node.locked


@dataclass(frozen=True, slots=True)
class PipelineView:
    """A whole pipeline graph as one value: what ``pipeline show`` and the canvas display."""

    pipeline: Pipeline
    project: Project
    nodes: tuple[PipelineNode, ...]
    edges: tuple[Edge, ...]
    groups: tuple[Group, ...]
    lineage: tuple[Lineage, ...] = field(default=())
    declared_inputs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The inputs the pipeline declares as a bundle (``[inputs]``): input name → the ids of
    its nodes that take it (sorted; inputs by name)."""
    _by_id: dict[str, PipelineNode] = field(init=False, repr=False, compare=False)
    _inputs: dict[str, tuple[Edge, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        inputs: dict[str, list[Edge]] = {}
        for edge in self.edges:
            inputs.setdefault(edge.child_id, []).append(edge)
        object.__setattr__(self, "_by_id", {item.node.id: item for item in self.nodes})
        object.__setattr__(self, "_inputs", {k: tuple(v) for k, v in inputs.items()})

    def node(self, node_id: str) -> PipelineNode:
        """The node ``node_id`` of this pipeline; KeyError if it has no such node."""
        return self._by_id[node_id]

    def with_nodes(
        self, nodes: tuple[PipelineNode, ...], edges_of: PipelineView | None = None
    ) -> PipelineView:
        """This view with ``nodes`` in place of its own (the same nodes, other values: computed
        states, or equal ones kept from an earlier view) and the edges of ``edges_of`` (equal
        to its own; default its own), their index taken along, not made again."""
        view: PipelineView = object.__new__(PipelineView)
        edged = self if edges_of is None else edges_of
        for name, value in (
            ("pipeline", self.pipeline),
            ("project", self.project),
            ("nodes", nodes),
            ("edges", edged.edges),
            ("groups", self.groups),
            ("lineage", self.lineage),
            ("declared_inputs", self.declared_inputs),
            ("_inputs", edged._inputs),
            ("_by_id", {item.node.id: item for item in nodes}),
        ):
            object.__setattr__(view, name, value)
        return view

    def with_edges(self, edges: tuple[Edge, ...], children: Collection[str]) -> PipelineView:
        """This view with ``edges`` in place of its own, which differ from them only in the
        inputs of ``children``: the index of the others' inputs is taken along."""
        view: PipelineView = object.__new__(PipelineView)
        inputs = dict(self._inputs)
        for child in children:
            inputs.pop(child, None)
        changed: dict[str, list[Edge]] = {}
        for edge in edges:
            if edge.child_id in children:
                changed.setdefault(edge.child_id, []).append(edge)
        inputs.update((k, tuple(v)) for k, v in changed.items())
        for name, value in (
            ("pipeline", self.pipeline),
            ("project", self.project),
            ("nodes", self.nodes),
            ("edges", edges),
            ("groups", self.groups),
            ("lineage", self.lineage),
            ("declared_inputs", self.declared_inputs),
            ("_inputs", inputs),
            ("_by_id", self._by_id),
        ):
            object.__setattr__(view, name, value)
        return view

    def find(self, node_id: str) -> PipelineNode | None:
        """The node ``node_id`` of this pipeline, None if it has no such node."""
        return self._by_id.get(node_id)

    def inputs(self, node_id: str) -> tuple[Edge, ...]:
        """The edges into ``node_id``: its parents, each on a slot."""
        return self._inputs.get(node_id, ())

    @property
    def node_ids(self) -> frozenset[str]:
        return frozenset(item.node.id for item in self.nodes)


@dataclass(frozen=True, slots=True)
class ProjectView:
    """A project with its pipelines and how they came from each other: what ``project show``
    and the project panel display."""

    project: Project
    pipelines: tuple[Pipeline, ...]
    lineage: tuple[Lineage, ...]
