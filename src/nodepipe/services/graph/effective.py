"""One effective state everywhere: the nodes ``pipeline show``, ``node list`` and ``node show``
(and the API and canvas, which read the same views) carry the state ``status`` computes.

The store keeps the state a node was left in by its last run or edit; a node stored
``completed`` whose code changed since is stale, and says why. Every view of nodes goes through
here, so no surface shows "completed" while ``status`` says stale, nor an old reason: the
reason shown is the computed reasons joined by "; " (``services.runs.status``). How isolated a
node is (``own``, ``shared:NAME``, ``interpreter:PATH``) comes along, read from the same
settings the status check reads. ``pipeline_view`` reads the graph every view starts from;
``effective_node`` computes one node's state from it and its ancestors only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from nodepipe.domain.graph import ancestors
from nodepipe.domain.model import Edge, Membership, Node, Pipeline, PipelineNode, PipelineView
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.envs.isolation_rules import isolation_label
from nodepipe.services.runs.status import NodeStatusView, Stored, compute_statuses
from nodepipe.store.light_read import member_of

if TYPE_CHECKING:
    from nodepipe.store.light_read import LightReads

REASON_SEPARATOR = "; "


def pipeline_view(session: LightReads, pipeline: Pipeline) -> PipelineView:
    """The whole graph of ``pipeline`` in a fixed number of queries, whatever its size."""
    return _view_of(session, pipeline, session.pipeline_members(pipeline.id))


def pipeline_view_and_stored(
    session: LightReads, pipeline: Pipeline
) -> tuple[PipelineView, Stored]:
    """``pipeline_view`` and its nodes' stored fingerprints and output digests, read by the same
    query (``member_rows``): a ``status`` of 10,000 nodes does not look each one up twice."""
    rows = session.member_rows(pipeline.id)
    stored = {row[0]: (row[11], row[12]) for row in rows}
    return _view_of(session, pipeline, [member_of(pipeline.id, row) for row in rows]), stored


def _view_of(
    session: LightReads,
    pipeline: Pipeline,
    members: list[tuple[Node, Membership]],
    edges: list[Edge] | None = None,
) -> PipelineView:
    """The view of ``members``; with ``edges`` (the edges into them), of these nodes only,
    without the pipeline's groups, lineage and declared inputs (what a status of some of its
    nodes needs)."""
    project = session.get_project(pipeline.project_id)
    assert project is not None
    whole = edges is None
    return PipelineView(
        pipeline=pipeline,
        project=project,
        nodes=tuple(
            PipelineNode(node, membership, node.owner_pipeline_id != pipeline.id)
            for node, membership in members
        ),
        edges=tuple(session.edges_of_pipeline(pipeline.id) if edges is None else edges),
        groups=tuple(session.groups_of_pipeline(pipeline.id)) if whole else (),
        lineage=tuple(session.lineage([pipeline.id])) if whole else (),
        declared_inputs=session.pipeline_inputs(pipeline.id) if whole else {},
    )


def effective_view(
    context: WorkspaceContext,
    session: LightReads,
    view: PipelineView,
    caught_up: bool | None = None,
) -> PipelineView:
    """``view`` with each node's computed state, reasons and isolation (``caught_up`` as
    ``compute_statuses`` takes it)."""
    statuses = compute_statuses(context, session, view, caught_up)
    return view.with_nodes(tuple(effective_item(i, statuses.get(i.node.id)) for i in view.nodes))


def effective_nodes(
    context: WorkspaceContext, session: LightReads, nodes: Iterable[Node]
) -> list[Node]:
    """``nodes`` with their computed states, each checked in the pipeline that owns it (a node
    has the same parents in every pipeline, so its state is the same wherever it is shown)."""
    wanted = list(nodes)
    owners = session.get_pipelines({n.owner_pipeline_id for n in wanted})
    computed: dict[str, Node] = {}
    for owner in owners.values():
        for item in effective_view(context, session, pipeline_view(session, owner)).nodes:
            computed[item.node.id] = item.node
    return [computed.get(node.id, node) for node in wanted]


_FEW_ROWS = 500
"""Up to this many nodes, a node's ancestors are read by id; more, the whole pipeline's rows
are read and the others left out (one plain query, no list of ids as long as the chain)."""


def effective_node(context: WorkspaceContext, session: LightReads, node: Node) -> Node:
    """``node`` with its computed state and reasons, as ``effective_nodes`` gives it, from the
    node and its ancestors alone (all its state depends on): the rest of its pipeline is not
    looked at, so a node near the top of 1,000 is checked at the cost of a few."""
    owner = session.get_pipelines([node.owner_pipeline_id]).get(node.owner_pipeline_id)
    if owner is None:
        return node
    edges = session.edges_of_pipeline(owner.id)
    above = ancestors([node.id], edges) | {node.id}
    if len(above) <= _FEW_ROWS:
        rows = session.member_rows_of(owner.id, above)
    else:
        rows = [row for row in session.member_rows(owner.id) if row[0] in above]
    stored = {row[0]: (row[11], row[12]) for row in rows}
    members = [member_of(owner.id, row) for row in rows]
    view = _view_of(session, owner, members, [e for e in edges if e.child_id in above])
    statuses = compute_statuses(context, session, view, stored=stored)
    item = view.find(node.id)
    return node if item is None else effective_item(item, statuses.get(node.id)).node


def effective_item(item: PipelineNode, status: NodeStatusView | None) -> PipelineNode:
    """``item`` with its computed state, reason and isolation (``item`` itself when they are
    what it holds already: a completed node with nothing to say costs no new value)."""
    if status is None:
        return item
    node = item.node
    reason = REASON_SEPARATOR.join(status.reasons)
    isolation = isolation_label(status.config) if status.config is not None else item.isolation
    if node.state is not status.state or node.state_reason != reason:
        node = replace(node, state=status.state, state_reason=reason)
    elif isolation == item.isolation:
        return item
    return PipelineNode(node, item.membership, item.is_reference, isolation)
