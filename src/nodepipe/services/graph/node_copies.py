"""Use cases that put existing nodes into pipelines: duplicate, reference, detach."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from nodepipe.domain.errors import ConflictError, InvalidInputError
from nodepipe.domain.graph import descendants
from nodepipe.domain.model import Edge, Node
from nodepipe.domain.names import validate_name
from nodepipe.domain.views import Loss
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.copying import CopyPlan, insert_copies, plan_copies, positions_in
from nodepipe.services.graph.losses import replacement_losses
from nodepipe.services.graph.membership import (
    check_references_tagged_apart,
    check_tag_free,
    free_tag,
    keep_parents_shown,
    show_with_ancestors,
)
from nodepipe.services.graph.replacing import Replacement, replace_node
from nodepipe.services.graph.staged_folders import staged_folders
from nodepipe.services.graph.staleness import mark_inputs_changed
from nodepipe.services.guards import check_pipeline_editable
from nodepipe.store.queries import StoreSession


def _still_editable(session: StoreSession, pipeline_id: str) -> str:
    """Re-check, inside the write transaction, that the target pipeline may change."""
    check_pipeline_editable(resolver.pipeline(session, pipeline_id))
    return pipeline_id


@dataclass(frozen=True, slots=True)
class NodeCopyService:
    context: WorkspaceContext

    def duplicate(
        self,
        names: list[str],
        pipeline: str,
        into: str | None = None,
        with_data: bool = False,
        *,
        tag: str | None = None,
        allow_duplicate_tag: bool = False,
    ) -> list[Node]:
        """Copy nodes of ``pipeline`` (code, lock, synced env; data with ``with_data``).

        Edges among the copied nodes are kept; outside parents are re-attached on the same
        slots (and shown in the target pipeline as references when it lacks them). The one
        copy is tagged ``tag``; without it a copy whose tag the target already has is tagged
        ``TAG-copy`` (or keeps the tag with ``allow_duplicate_tag``).
        """
        with self.context.store.read() as session:
            plan = _duplicate_plan(
                session, names, pipeline, into, with_data, tag, allow_duplicate_tag
            )
        with self._copied_folders(plan) as session:
            target_id = _still_editable(session, plan.target_pipeline_id)
            if tag is not None:
                check_tag_free(session, target_id, tag, allowed=allow_duplicate_tag)
            return insert_copies(session, plan, target_id)

    def check_duplicate(
        self,
        names: list[str],
        pipeline: str,
        into: str | None = None,
        *,
        tag: str | None = None,
        allow_duplicate_tag: bool = False,
    ) -> None:
        """Refuse now what ``duplicate`` would refuse before it copies anything (a surface
        that copies in the background asks first, to say it where the tag was typed): an
        unknown pipeline or node, a target that cannot change, a tag invalid, taken or given
        for several nodes. The copy checks again."""
        with self.context.store.read() as session:
            _duplicate_plan(session, names, pipeline, into, False, tag, allow_duplicate_tag)

    def replace(self, old: str, new: str, pipeline: str, keep: bool = False) -> Replacement:
        """OLD's children in ``pipeline`` read NEW on the same slots; OLD goes unless ``keep``
        (see ``services.graph.replacing``)."""
        return replace_node(self.context, old, new, pipeline, keep)

    def replacement_losses(self, old: str, new: str, pipeline: str) -> list[Loss]:
        """What ``replace`` without keep would delete (asked about before it does)."""
        return replacement_losses(self.context, old, new, pipeline)

    def reference(
        self,
        names: list[str],
        into: str,
        pipeline: str | None = None,
        *,
        allow_duplicate_tag: bool = False,
    ) -> list[str]:
        """Show nodes (and the ancestors they need) in ``into``, read-only there; not copies.

        A reference shows the node under its own tag, so one whose tag ``into`` already has
        (or an ancestor shown with it) is refused unless ``allow_duplicate_tag``."""
        with self.context.store.write() as session:
            within = resolver.pipeline(session, pipeline) if pipeline else None
            target = resolver.pipeline(session, into)
            check_pipeline_editable(target)
            chosen = resolver.nodes(session, names, within)
            shown = session.memberships_of(target.id, [n.id for n in chosen])
            already = [n.tag for n in chosen if n.id in shown]
            if already:
                raise ConflictError(f"pipeline {target.tag!r} already shows {', '.join(already)}")
            added = show_with_ancestors(session, target.id, [n.id for n in chosen])
            if not allow_duplicate_tag:  # raised inside the transaction: nothing is shown
                check_references_tagged_apart(session, target.id, target.tag, added)
            return added

    def detach(self, names: list[str], pipeline: str, with_data: bool = True) -> list[Node]:
        """Give ``pipeline`` private copies of referenced nodes and their referenced descendants.

        The pipeline's own nodes that read from them are rewired to the copies (same slots),
        and the copies take the bundle inputs the pipeline declares for them.
        """
        with self.context.store.read() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            chosen = resolver.nodes(session, names, target)
            owned = [n.tag for n in chosen if n.owner_pipeline_id == target.id]
            if owned:
                belong = "belongs" if len(owned) == 1 else "belong"
                raise ConflictError(
                    f"{', '.join(owned)} already {belong} to {target.tag!r}; nothing to detach"
                )
            shown = {m.node_id: m for m in session.memberships_of_pipeline(target.id)}
            shown_nodes = session.get_nodes(shown)
            below = descendants([n.id for n in chosen], session.edges_of_pipeline(target.id))
            referenced_below = {
                i for i in below if i in shown and shown_nodes[i].owner_pipeline_id != target.id
            }
            sources = [n.id for n in chosen] + sorted(referenced_below)
            layout = {i: (m.x, m.y) for i, m in shown.items()}
            plan = plan_copies(session, sources, layout, None, with_data)
        with self._copied_folders(plan) as session:
            pipeline_id = _still_editable(session, target.id)
            declared = session.pipeline_inputs(pipeline_id)
            for source_id in plan.id_map:
                session.delete_membership(pipeline_id, source_id)
            copies = insert_copies(session, plan, pipeline_id)
            if declared:  # the copies take the bundle inputs of the nodes they replace
                session.hand_over_inputs(pipeline_id, declared, plan.id_map)
            self._rewire_owned_children(session, pipeline_id, plan.id_map)
            return copies

    @contextmanager
    def _copied_folders(self, plan: CopyPlan) -> Iterator[StoreSession]:
        """Build the planned copies' folders, then yield the write transaction for their rows.

        If the block fails, the transaction rolls back and the folders are removed.
        """
        with staged_folders(self.context) as batch:
            for source_id, copy_id in plan.id_map.items():
                batch.add_copy(source_id, copy_id, plan.with_data)
            batch.install()
            with self.context.store.write() as session:
                yield session

    @staticmethod
    def _rewire_owned_children(
        session: StoreSession, pipeline_id: str, id_map: dict[str, str]
    ) -> None:
        changed: dict[str, str] = {}
        for edge in session.edges_out_of(id_map):
            child = session.get_node(edge.child_id)
            if child is None or edge.child_id in id_map.values():
                continue
            if child.owner_pipeline_id != pipeline_id:
                continue
            session.delete_edge(edge.parent_id, edge.child_id)
            session.insert_edge(Edge(id_map[edge.parent_id], edge.child_id, edge.slot))
            keep_parents_shown(session, edge.child_id)
            changed[edge.child_id] = f"input {edge.slot} now reads a detached copy"
        mark_inputs_changed(session, changed)


def _duplicate_plan(
    session: StoreSession,
    names: list[str],
    pipeline: str,
    into: str | None,
    with_data: bool,
    tag: str | None,
    allow_duplicate_tag: bool,
) -> CopyPlan:
    """What ``NodeCopyService.duplicate`` copies where, under which tags; its refusals."""
    if tag is not None:
        validate_name(tag, "node tag")
    source = resolver.pipeline(session, pipeline)
    target = resolver.pipeline(session, into) if into else source
    check_pipeline_editable(target)
    originals = resolver.nodes(session, names, source)
    if tag is not None and len({n.id for n in originals}) != 1:
        raise InvalidInputError("a tag names the copy of one node; give one node")
    layout = positions_in(session, source.id, [n.id for n in originals])
    plan = plan_copies(session, [n.id for n in originals], layout, target.id, with_data)
    plan = replace(plan, tags=_copy_tags(session, target.id, originals, tag))
    if tag is not None:
        check_tag_free(session, target.id, tag, allowed=allow_duplicate_tag)
    elif allow_duplicate_tag:
        plan = replace(plan, tags={})
    return plan


def _copy_tags(
    session: StoreSession, pipeline_id: str, originals: list[Node], tag: str | None
) -> dict[str, str]:
    """Source id -> its copy's tag: ``tag`` for the one copy, else a tag the target lacks."""
    if tag is not None:
        return {originals[0].id: tag}
    return {n.id: free_tag(session, pipeline_id, n.tag) for n in originals}
