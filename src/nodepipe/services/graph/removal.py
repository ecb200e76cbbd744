"""Removing nodes from a pipeline without ever deleting what another pipeline still uses.

A node still shown elsewhere only leaves this pipeline (if this pipeline owned it, ownership
moves to the oldest other pipeline showing it); a node shown nowhere else is deleted with its
folder, after the rows are committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodepipe.domain.errors import ConflictError, ReadOnlyError
from nodepipe.domain.model import Node, Pipeline
from nodepipe.domain.states import ACTIVE_STATES
from nodepipe.domain.views import RemovalReport
from nodepipe.services.graph.staleness import mark_inputs_changed
from nodepipe.services.guards import check_node_editable

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession


def remove_from_pipeline(
    session: StoreSession, pipeline: Pipeline, doomed: list[Node]
) -> RemovalReport:
    """Remove ``doomed`` from ``pipeline``; the caller deletes the folders of ``deleted``."""
    doomed_ids = {n.id for n in doomed}
    for node in doomed:
        check_removable(session, pipeline, node)
    shown = {m.node_id for m in session.memberships_of_pipeline(pipeline.id)}
    changed, disconnected = _disconnect_children(session, pipeline, doomed, doomed_ids, shown)
    showing = session.pipelines_showing(doomed_ids)
    deleted = [n.id for n in deleted_by_removal(session, pipeline, doomed)]
    transferred: dict[str, str] = {}
    for node in doomed:
        session.delete_membership(pipeline.id, node.id)
        elsewhere = [p for p in showing[node.id] if p != pipeline.id]
        if elsewhere and node.owner_pipeline_id == pipeline.id:
            heir = min(session.get_pipelines(elsewhere).values(), key=lambda p: p.created_at)
            session.update_node(node.id, owner_pipeline_id=heir.id)
            transferred[node.id] = heir.tag
    for node_id in deleted:
        session.delete_node(node_id)
    mark_inputs_changed(session, {k: v for k, v in changed.items() if k not in deleted})
    return RemovalReport(
        removed=tuple(sorted(doomed_ids)),
        deleted=tuple(sorted(deleted)),
        transferred=transferred,
        disconnected=tuple(disconnected),
    )


def deleted_by_removal(session: StoreSession, pipeline: Pipeline, doomed: list[Node]) -> list[Node]:
    """Those of ``doomed`` that removing them from ``pipeline`` deletes (shown nowhere else)."""
    showing = session.pipelines_showing({n.id for n in doomed})
    return [n for n in doomed if set(showing[n.id]) <= {pipeline.id}]


def check_removable(session: StoreSession, pipeline: Pipeline, node: Node) -> None:
    if node.state in ACTIVE_STATES:
        raise ReadOnlyError(
            f"node {node.tag!r} ({node.id}) is {node.state.value} in a run; kill it first"
        )
    if node.owner_pipeline_id == pipeline.id:
        check_node_editable(session, node, pipeline)


def _disconnect_children(
    session: StoreSession,
    pipeline: Pipeline,
    doomed: list[Node],
    doomed_ids: set[str],
    shown: set[str],
) -> tuple[dict[str, str], list[str]]:
    """Cut edges from doomed nodes to children that stay in this pipeline."""
    changed: dict[str, str] = {}
    described: list[str] = []
    tags = {n.id: n.tag for n in doomed}
    for edge in session.edges_out_of(doomed_ids):
        if edge.child_id in doomed_ids or edge.child_id not in shown:
            continue
        child = session.get_node(edge.child_id)
        assert child is not None
        if child.owner_pipeline_id != pipeline.id or child.locked:
            raise ConflictError(
                f"cannot remove {tags[edge.parent_id]!r} from {pipeline.tag!r}: "
                f"{child.tag!r} ({child.id}), read-only here, takes it as input {edge.slot}; "
                f"remove {child.tag!r} too, or unlock/detach it"
            )
        session.delete_edge(edge.parent_id, edge.child_id)
        changed[child.id] = f"input {edge.slot} ({tags[edge.parent_id]}) removed"
        described.append(f"{tags[edge.parent_id]} → {child.tag}")
    return changed, described
