"""What a destructive command would lose, worked out before anything is deleted.

``node rm``, ``node replace`` (without ``--keep``), ``node clear-data`` and ``pipeline rm``
delete folders or outputs. The CLI asks before it does, naming each node whose folder goes (a
node still shown by another pipeline only leaves this one, and is not named) and the size of
the outputs that go with it.
"""

from __future__ import annotations

from nodepipe.domain.model import Node
from nodepipe.domain.views import Loss
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.removal import check_removable, deleted_by_removal
from nodepipe.services.guards import check_node_editable, check_pipeline_editable
from nodepipe.workspace.disk_usage import DiskUsage


def removal_losses(context: WorkspaceContext, names: list[str], pipeline: str) -> list[Loss]:
    """The nodes whose folders removing ``names`` from ``pipeline`` would delete; a removal
    that would be refused is refused here already (nothing is asked then)."""
    with context.store.read() as session:
        target = resolver.pipeline(session, pipeline)
        check_pipeline_editable(target)
        found = resolver.nodes(session, names, target)
        for node in found:
            check_removable(session, target, node)
        doomed = deleted_by_removal(session, target, found)
    return [_loss(context, node, folder=True) for node in doomed]


def pipeline_losses(context: WorkspaceContext, pipeline: str) -> list[Loss]:
    """The nodes whose folders deleting ``pipeline`` would delete."""
    with context.store.read() as session:
        target = resolver.pipeline(session, pipeline)
        check_pipeline_editable(target)
        members = [node for node, _ in session.pipeline_members(target.id)]
        doomed = deleted_by_removal(session, target, members)
    return [_loss(context, node, folder=True) for node in doomed]


def output_losses(context: WorkspaceContext, name: str, pipeline: str | None) -> list[Loss]:
    """The outputs clearing ``name`` would delete (nothing when it has none)."""
    with context.store.read() as session:
        within = resolver.pipeline(session, pipeline) if pipeline else None
        node = resolver.node(session, name, within)
        check_node_editable(session, node, within)
    loss = _loss(context, node, folder=False)
    return [loss] if loss.output_bytes else []


def _loss(context: WorkspaceContext, node: Node, folder: bool) -> Loss:
    place = context.layout.node_folder(node.id)
    size = DiskUsage().measure([place.data, place.reports])
    return Loss(node.id, node.tag, folder, size)
