"""Including a bundle into an existing pipeline: its nodes added under a namespace, all or
nothing, its declared inputs fed by nodes the pipeline already has."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from nodepipe.bundles.model import EdgeEntry, ResolvedPipeline, frozen_mapping
from nodepipe.domain.errors import Action, ConflictError, Hint, InvalidInputError, NotFoundError
from nodepipe.domain.model import Edge, Node, Pipeline, PipelineView
from nodepipe.domain.names import validate_name
from nodepipe.services import resolver
from nodepipe.services.bundles.creation import (
    NodesToCreate,
    SyncProgress,
    insert_includes,
    insert_nodes,
    install,
    stage_nodes,
)
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.effective import effective_view, pipeline_view
from nodepipe.services.graph.membership import ROW_HEIGHT
from nodepipe.services.graph.staged_folders import staged_folders
from nodepipe.services.guards import check_pipeline_editable

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession


def check_namespace(namespace: str) -> None:
    validate_name(namespace, "include namespace")
    if "." in namespace:
        raise InvalidInputError(f"invalid include namespace {namespace!r}: it may not contain '.'")


def input_node(
    session: StoreSession, pipeline: Pipeline, name: str, ref: str, hint: Hint | None = None
) -> Node:
    """The node ``ref`` (id or tag) of ``pipeline``, for the bundle input ``name``: not found
    (or ambiguous) there, the error names the input, and carries ``hint``."""
    try:
        return resolver.node(session, ref, pipeline)
    except NotFoundError as error:
        raise type(error)(f"input {name!r}: {error}", hint=hint) from None


def feeder(session: StoreSession, pipeline: Pipeline, name: str, ref: str) -> Node:
    """The node of ``pipeline`` that would feed an included bundle's input ``name``."""
    return input_node(session, pipeline, name, ref, Hint(Action.BUNDLE_INPUT, {"input": name}))


def feeders_by_id(
    session: StoreSession, pipeline: Pipeline, inputs: Mapping[str, str]
) -> dict[str, str]:
    """``inputs`` (input → node id or tag) with each node named by its id: what an include
    records, so that a feeder renamed later still feeds it."""
    return {name: feeder(session, pipeline, name, ref).id for name, ref in inputs.items()}


def feeders_by_tag(
    session: StoreSession, pipeline: Pipeline, inputs: Mapping[str, str]
) -> dict[str, str]:
    """``inputs`` as recorded (input → node id, or the tag an older record holds) with each
    node named by its tag now (as recorded when the pipeline no longer shows it)."""
    tags = {node.id: node.tag for node in session.list_nodes(pipeline.id)}
    return {name: tags.get(ref, ref) for name, ref in inputs.items()}


def _emptied(session: StoreSession, pipeline: Pipeline, namespace: str) -> list[str] | None:
    """The ids of the include ``namespace`` of ``pipeline`` and the includes inside it when
    none of them has a node left (every node removed: including it again replaces them), ``[]``
    when the pipeline has no such include; None when it has one with nodes (taken)."""
    rows = [r for r in session.includes_of_pipeline(pipeline.id) if r.covers(namespace)]
    if not any(r.namespace == namespace for r in rows):
        return []
    if session.include_members([r.id for r in rows]):
        return None
    return [r.id for r in rows]


def _included_already(pipeline: Pipeline, namespace: str) -> ConflictError:
    """The refusal of a namespace the pipeline already includes: update that include, or
    choose another namespace (``Action.INCLUDE_UPDATE``)."""
    return ConflictError(
        f"pipeline {pipeline.tag!r} already includes {namespace!r}",
        hint=Hint(Action.INCLUDE_UPDATE, {"pipeline": pipeline.tag, "namespace": namespace}),
    )


def check_feeders(
    session: StoreSession, pipeline: Pipeline, namespace: str, inputs: Mapping[str, str]
) -> None:
    """What can be refused of an include before its bundle is read: the namespace (taken, or
    not a name), the pipeline locked, a feeder it does not show."""
    check_namespace(namespace)
    check_pipeline_editable(pipeline)
    if _emptied(session, pipeline, namespace) is None:
        raise _included_already(pipeline, namespace)
    for name, ref in sorted(inputs.items()):
        feeder(session, pipeline, name, ref)


def feeding_edges(
    session: StoreSession,
    pipeline: Pipeline,
    entries: Iterable[EdgeEntry],
    ids: Mapping[str, str],
) -> list[Edge]:
    """``entries`` (pipeline node tag → qualified included node) as edges between ids."""
    return [
        Edge(resolver.node(session, e.parent, pipeline).id, ids[e.child], e.slot) for e in entries
    ]


def include_resolved(
    context: WorkspaceContext,
    pipeline: str,
    resolved: ResolvedPipeline,
    feeding: list[EdgeEntry],
    jobs: int,
    on_synced: SyncProgress | None,
) -> PipelineView:
    """Create ``resolved``'s nodes (names already qualified) in ``pipeline``."""
    namespace = resolved.includes[0].namespace
    with context.store.read() as session:
        target = resolver.pipeline(session, pipeline)
        check_pipeline_editable(target)
        _check_free(session, target, namespace, resolved)
        for entry in feeding:
            feeder(session, target, entry.slot, entry.parent)  # one that is not there: now
        resolved = _fed_by(
            resolved, feeders_by_id(session, target, resolved.includes[0].entry.inputs)
        )
    plan = NodesToCreate(resolved.nodes)
    with staged_folders(context) as batch:
        stage_nodes(batch, plan, with_data=False)
        install(batch, plan, jobs, on_synced)
        with context.store.write() as session:
            below = max((m.y for m in session.memberships_of_pipeline(target.id)), default=0.0)
            insert_nodes(session, plan, target.id, {}, top=below + ROW_HEIGHT)
            for e in resolved.edges:
                session.insert_edge(Edge(plan.ids[e.parent], plan.ids[e.child], e.slot))
            for edge in feeding_edges(session, target, feeding, plan.ids):
                session.insert_edge(edge)
            for emptied in _emptied(session, target, namespace) or ():
                session.delete_include(emptied)  # every node of it was removed: replaced
            insert_includes(session, target.id, resolved, plan)
            view = pipeline_view(session, target)
    with context.store.light_read() as session:  # each node's state and why, as `show` has them
        return effective_view(context, session, view)


def _fed_by(resolved: ResolvedPipeline, inputs: Mapping[str, str]) -> ResolvedPipeline:
    """``resolved`` with its include (the first) recording ``inputs`` as what feeds it."""
    top, *inside = resolved.includes
    entry = replace(top.entry, inputs=frozen_mapping(inputs))
    return replace(resolved, includes=(replace(top, entry=entry), *inside))


def _check_free(
    session: StoreSession, pipeline: Pipeline, namespace: str, resolved: ResolvedPipeline
) -> None:
    if _emptied(session, pipeline, namespace) is None:
        raise _included_already(pipeline, namespace)
    tags = {n.tag for n in session.list_nodes(pipeline.id)}
    clash = sorted(tags & {node.name for node in resolved.nodes})
    if clash:
        raise ConflictError(
            f"pipeline {pipeline.tag!r} already has nodes tagged {', '.join(clash)}; "
            "choose another namespace"
        )
