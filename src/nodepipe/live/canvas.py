"""Use cases of the graph editor's canvas: many positions at once, and what a deletion would lose.

``place_many`` stores a whole auto-layout (or a dragged selection) in one transaction instead
of one per node. ``preview_removal`` runs the real removal inside a write transaction and rolls
it back, so the confirmation a user sees names exactly what deleting would do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nodepipe.domain.errors import NotFoundError
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.library_links import check_no_library_users
from nodepipe.services.graph.membership import check_position
from nodepipe.services.graph.removal import deleted_by_removal, remove_from_pipeline


class _RollbackError(Exception):
    """Raised to end a preview transaction without committing it."""


@dataclass(frozen=True, slots=True)
class RemovalEffect:
    """What removing one node from a pipeline would do to it."""

    node_id: str
    tag: str
    fate: str
    """``deleted`` (folder, code and outputs gone), ``moved`` (ownership passes to
    ``new_owner``) or ``removed`` (it only leaves this pipeline; others still show it)."""
    new_owner: str | None
    has_outputs: bool


@dataclass(frozen=True, slots=True)
class RemovalPreview:
    pipeline_id: str
    effects: tuple[RemovalEffect, ...]
    disconnected: tuple[str, ...]
    """Edges that would be cut, as ``parent → child``; those children would become stale."""


@dataclass(frozen=True, slots=True)
class CanvasService:
    context: WorkspaceContext

    def place_many(self, pipeline: str, positions: Mapping[str, tuple[float, float]]) -> int:
        """Move several nodes (by id) on ``pipeline``'s canvas at once; returns how many."""
        for node_id, (x, y) in positions.items():
            check_position(node_id, x, y)
        with self.context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            shown = {m.node_id for m in session.memberships_of_pipeline(target.id)}
            unknown = sorted(set(positions) - shown)
            if unknown:
                raise NotFoundError(f"not in pipeline {target.tag!r}: {', '.join(unknown)}")
            for node_id, (x, y) in positions.items():
                session.update_membership(target.id, node_id, x=float(x), y=float(y))
        return len(positions)

    def preview_removal(self, names: list[str], pipeline: str) -> RemovalPreview:
        """What ``NodeService.remove(names, pipeline)`` would do; raises what it would raise."""
        preview: RemovalPreview | None = None
        try:
            with self.context.store.write() as session:
                target = resolver.pipeline(session, pipeline)
                doomed = resolver.nodes(session, names, target)
                deleted = deleted_by_removal(session, target, doomed)
                check_no_library_users(self.context, session, target, deleted, "removing nodes")
                report = remove_from_pipeline(session, target, doomed)
                effects = tuple(
                    RemovalEffect(
                        node.id,
                        node.tag,
                        _fate(node.id, report.deleted, report.transferred),
                        report.transferred.get(node.id),
                        self.context.layout.node_folder(node.id).has_data(),
                    )
                    for node in doomed
                )
                preview = RemovalPreview(target.id, effects, report.disconnected)
                raise _RollbackError
        except _RollbackError:
            pass
        assert preview is not None
        return preview


def _fate(node_id: str, deleted: tuple[str, ...], transferred: Mapping[str, str]) -> str:
    if node_id in deleted:
        return "deleted"
    return "moved" if node_id in transferred else "removed"
