"""Swapping one node for another in a pipeline: the last step of the careful update workflow.

``node duplicate OLD --tag NEW`` makes a copy with the same parents; once NEW has been updated
and run, ``node replace OLD NEW`` re-attaches OLD's children in the pipeline to NEW on the same
slots (they become stale: "input 01 now from NEW (was OLD)") and removes OLD, or keeps it with
``keep``. Nodes of the pipeline that install a package from OLD as a library node
(``env add --from-node``) install it from NEW afterwards (``library_links``), with or without
``keep``. Removed, OLD hands the bundle inputs it takes (``[inputs]``, what the pipeline
declares for an export) over to NEW. Everything happens in one store transaction; the links
are re-pointed after it, and OLD's folder, when no other pipeline shows it, is deleted after
that exactly as ``node rm`` deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nodepipe.domain.errors import ConflictError, InvalidInputError
from nodepipe.domain.graph import ancestors
from nodepipe.domain.model import Edge, Node, Pipeline
from nodepipe.domain.views import RemovalReport
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.library_links import (
    RELINK_KEY,
    check_no_library_users,
    plan_repoints,
    relink_intent,
    repoint,
)
from nodepipe.services.graph.membership import keep_parents_shown
from nodepipe.services.graph.removal import deleted_by_removal, remove_from_pipeline
from nodepipe.services.graph.staged_folders import delete_nodes_on_disk, deleting_node_folders
from nodepipe.services.graph.staleness import mark_inputs_changed
from nodepipe.services.guards import check_pipeline_editable
from nodepipe.workspace.crash_points import crash_point

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession


@dataclass(frozen=True, slots=True)
class Replacement:
    """What ``node replace`` did: the children re-attached, and OLD's removal (None: kept)."""

    old: Node
    new: Node
    rewired: tuple[str, ...]
    """``slot: child tag`` for every child that now reads NEW."""
    removal: RemovalReport | None
    relinked: tuple[str, ...] = ()
    """The tags of the nodes that now install their library package from NEW."""


def replace_node(
    context: WorkspaceContext, old: str, new: str, pipeline: str, keep: bool = False
) -> Replacement:
    """In ``pipeline``, give OLD's children NEW on the same slots; then remove OLD unless
    ``keep``. Refused (nothing changed) when a child is read-only here or would close a cycle."""
    with deleting_node_folders(context) as deletion:
        with context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            old_node = resolver.node(session, old, target)
            new_node = resolver.node(session, new, target)
            children_shown = _children_to_rewire(session, target, old_node, new_node)
            plan = plan_repoints(context, session, target, old_node, new_node)
            relinked = tuple(sorted(n.tag for n in session.get_nodes(plan).values()))
            children = [e.child_id for e in session.edges_out_of([old_node.id])]
            doomed = [] if keep else deleted_by_removal(session, target, [old_node])
            check_no_library_users(
                context, session, target, doomed, "replacing the node", excluding=set(plan)
            )
            rewired = _rewire(session, old_node, new_node, children_shown)
            declared = session.pipeline_inputs(target.id)
            removal = None if keep else remove_from_pipeline(session, target, [old_node])
            if removal is not None and declared:  # NEW takes OLD's bundle inputs too
                session.hand_over_inputs(target.id, declared, {old_node.id: new_node.id})
            deleted = list(removal.deleted) if removal is not None else []
            intent = relink_intent(target, old_node, new_node, keep, children, plan)
            deletion.record(deleting=deleted, **({RELINK_KEY: intent} if plan else {}))
            crash_point("relink.recorded")
        crash_point("relink.committed")
        repoint(context, plan, old_node.id, new_node.id)
        if removal is not None:
            delete_nodes_on_disk(context, removal.deleted)
    return Replacement(old_node, new_node, rewired, removal, relinked)


def check_replaceable(session: StoreSession, target: Pipeline, old: Node, new: Node) -> None:
    """Refuse what replacing ``old`` by ``new`` in ``target`` would refuse (a surface asks
    about what it deletes only after this): ``new`` being ``old``, a child of ``old`` that is
    read-only here, already reads ``new`` or would close a cycle."""
    _children_to_rewire(session, target, old, new)


def _children_to_rewire(
    session: StoreSession, target: Pipeline, old: Node, new: Node
) -> list[tuple[Edge, Node]]:
    """``old``'s edges to its children shown in ``target`` with those children, each checked
    (ConflictError, nothing changed), in the order they are told."""
    if old.id == new.id:
        raise InvalidInputError(f"{old.tag!r} cannot replace itself")
    shown = {m.node_id for m in session.memberships_of_pipeline(target.id)}
    above_new = ancestors([new.id], session.all_edges()) | {new.id}
    edges = [e for e in session.edges_out_of([old.id]) if e.child_id in shown]
    nodes = session.get_nodes({e.child_id for e in edges})
    children = sorted(
        ((e, nodes[e.child_id]) for e in edges), key=lambda pair: (pair[1].tag, pair[0].slot)
    )
    for _, child in children:
        _check_rewirable(session, target, old, new, child, above_new)
    return children


def _rewire(
    session: StoreSession, old: Node, new: Node, children: list[tuple[Edge, Node]]
) -> tuple[str, ...]:
    changed: dict[str, str] = {}
    rewired: list[str] = []
    for edge, child in children:
        session.delete_edge(old.id, child.id)
        session.insert_edge(Edge(new.id, child.id, edge.slot))
        keep_parents_shown(session, child.id)
        changed[child.id] = f"input {edge.slot} now from {new.tag} (was {old.tag})"
        rewired.append(f"{edge.slot}: {child.tag}")
    mark_inputs_changed(session, changed)
    return tuple(rewired)


def _check_rewirable(
    session: StoreSession,
    target: Pipeline,
    old: Node,
    new: Node,
    child: Node,
    above_new: set[str],
) -> None:
    if child.owner_pipeline_id != target.id or child.locked:
        raise ConflictError(
            f"cannot replace {old.tag!r} in {target.tag!r}: its child {child.tag!r} "
            f"({child.id}) is read-only here; unlock or detach it first; nothing was changed"
        )
    if child.id == new.id:
        raise ConflictError(
            f"cannot replace {old.tag!r} by {new.tag!r}: {new.tag!r} reads {old.tag!r}, so it "
            "would read itself (a cycle); nothing was changed"
        )
    if child.id in above_new:
        raise ConflictError(
            f"cannot replace {old.tag!r} by {new.tag!r}: {child.tag!r} reads {old.tag!r} and "
            f"{new.tag!r} depends on {child.tag!r}, which would close a cycle; nothing was changed"
        )
    if any(e.parent_id == new.id for e in session.edges_into([child.id])):
        raise ConflictError(
            f"cannot replace {old.tag!r} by {new.tag!r}: {child.tag!r} already reads "
            f"{new.tag!r}; disconnect one of them first; nothing was changed"
        )
