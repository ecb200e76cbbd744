"""The read-only rules in one place: locked nodes and pipelines, references, nodes in a run.

Each refusal hints the action that lifts it (unlock, detach, kill), which every surface words
its own way."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodepipe.domain.errors import Action, Hint, ReadOnlyError
from nodepipe.domain.model import Node, Pipeline
from nodepipe.domain.states import ACTIVE_STATES

if TYPE_CHECKING:
    from nodepipe.store.light_edges import EdgeWrites


def check_pipeline_editable(pipeline: Pipeline) -> None:
    if pipeline.locked:
        raise ReadOnlyError(
            f"pipeline {pipeline.tag!r} is locked (read-only)",
            hint=Hint(Action.PIPELINE_UNLOCK, {"pipeline": pipeline.tag}),
        )


def check_node_editable(
    session: EdgeWrites, node: Node, context: Pipeline | None = None, *, outputs: bool = True
) -> None:
    """Raise ReadOnlyError unless ``node`` may be changed from ``context`` (or its owner).

    ``outputs`` marks changes that affect the node's outputs, refused while it is in a run.
    """
    if node.locked:
        raise ReadOnlyError(
            f"node {node.tag!r} ({node.id}) is locked (read-only)",
            hint=Hint(Action.NODE_UNLOCK, {"node": node.id}),
        )
    owner = session.get_pipeline(node.owner_pipeline_id)
    assert owner is not None
    if context is not None and context.id != owner.id:
        raise ReadOnlyError(
            f"node {node.tag!r} ({node.id}) is a reference in pipeline {context.tag!r} "
            f"(it belongs to {owner.tag!r}): edit it there, or detach it",
            hint=Hint(Action.NODE_DETACH, {"node": node.id, "pipeline": context.tag}),
        )
    check_pipeline_editable(owner)
    if outputs and node.state in ACTIVE_STATES:
        raise ReadOnlyError(
            f"node {node.tag!r} ({node.id}) is {node.state.value} in a run; wait for it or kill it",
            hint=Hint(Action.NODE_KILL, {"node": node.id}),
        )
