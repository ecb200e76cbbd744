"""What a destructive command would lose, worked out before anything is deleted.

``node rm``, ``node replace`` (without ``--keep``), ``node clear-data`` and ``pipeline rm``
delete folders or outputs. The CLI asks before it does, naming each node whose folder goes (a
node still shown by another pipeline only leaves this one, and is not named), the size of
the outputs that go with it, and, for a replaced library node, the nodes whose library links
move to its successor. A removal that would leave a node linking to a deleted library node is
refused here already (``library_links``).
"""

from __future__ import annotations

from dataclasses import replace

from nodepipe.domain.model import Node
from nodepipe.domain.views import Loss
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.library_links import check_no_library_users, plan_repoints
from nodepipe.services.graph.removal import check_removable, deleted_by_removal
from nodepipe.services.graph.replacing import check_replaceable
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
        check_no_library_users(context, session, target, doomed, "removing the node")
    return [_loss(context, node, folder=True) for node in doomed]


def replacement_losses(context: WorkspaceContext, old: str, new: str, pipeline: str) -> list[Loss]:
    """What ``node replace OLD NEW`` (without keep) would delete: OLD's folder when no other
    pipeline shows it, naming the library users that move to NEW; a replace that would be
    refused is refused here already."""
    with context.store.read() as session:
        target = resolver.pipeline(session, pipeline)
        check_pipeline_editable(target)
        old_node, new_node = (
            resolver.node(session, old, target),
            resolver.node(session, new, target),
        )
        check_replaceable(session, target, old_node, new_node)
        check_removable(session, target, old_node)
        plan = plan_repoints(context, session, target, old_node, new_node)
        users = tuple(sorted(n.tag for n in session.get_nodes(plan).values()))
        doomed = deleted_by_removal(session, target, [old_node])
        check_no_library_users(
            context, session, target, doomed, "replacing the node", excluding=set(plan)
        )
    return [
        replace(_loss(context, node, folder=True), library_users=users, successor=new_node.tag)
        for node in doomed
    ]


def pipeline_losses(context: WorkspaceContext, pipeline: str) -> list[Loss]:
    """The nodes whose folders deleting ``pipeline`` would delete."""
    with context.store.read() as session:
        target = resolver.pipeline(session, pipeline)
        check_pipeline_editable(target)
        members = [node for node, _ in session.pipeline_members(target.id)]
        doomed = deleted_by_removal(session, target, members)
        check_no_library_users(context, session, target, doomed, "removing the pipeline")
    return [_loss(context, node, folder=True) for node in doomed]


def output_losses(context: WorkspaceContext, name: str, pipeline: str | None) -> list[Loss]:
    """The outputs clearing ``name`` would delete (nothing when it has none)."""
    with context.store.read() as session:
        within = resolver.pipeline(session, pipeline) if pipeline else None
        node = resolver.node(session, name, within)
        check_node_editable(session, node, within)
    loss = _loss(context, node, folder=False)
    return [loss] if loss.output_files else []


def _loss(context: WorkspaceContext, node: Node, folder: bool) -> Loss:
    """What data/ and reports/ hold (a node that never ran: nothing, not their own blocks)."""
    place = context.layout.node_folder(node.id)
    usage = DiskUsage()
    size = usage.measure_contents([place.data, place.reports])
    return Loss(node.id, node.tag, folder, size, output_files=usage.files)
