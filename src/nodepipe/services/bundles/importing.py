"""Import: a resolved bundle becomes a new pipeline, all or nothing.

New ids; tags (``NS.key`` for included nodes), notes, parameters, slots, groups (an include
becomes a group named by its namespace) and canvas positions as the bundle says; the bundle's
``[inputs]`` remembered by the pipeline (by node id: a later export writes them); every node's
environment synced from its own ``uv.lock`` (``uv sync --frozen``: nothing is resolved, the
workspace's uv cache serves what it holds), several at a time. Nodes imported with data that
``pipeline.lock`` vouches for are completed. Folders and libs are built in a journaled batch;
the rows commit in one transaction at the end; a failure, or a killed process, leaves no
pipeline, no row, no folder (``staged_folders``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from nodepipe.bundles.lockfile import LockRecord
from nodepipe.bundles.model import BundleFiles, ResolvedPipeline
from nodepipe.domain.model import Edge, PipelineView
from nodepipe.domain.states import NodeState
from nodepipe.services import resolver
from nodepipe.services.bundles.creation import (
    NodesToCreate,
    SyncProgress,
    insert_edges,
    insert_includes,
    insert_nodes,
    install,
    stage_nodes,
)
from nodepipe.services.bundles.locked_state import completed_nodes
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.effective import effective_view, pipeline_view
from nodepipe.services.graph.pipelines import (
    check_pipeline_tag_free,
    insert_pipeline,
)
from nodepipe.services.graph.staged_folders import staged_folders
from nodepipe.workspace.crash_points import crash_point


def default_jobs() -> int:
    """Environments synced at once: uv is mostly I/O and hard links."""
    return max(2, min(8, os.cpu_count() or 2))


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The pipeline an import made, and which of its nodes came in completed."""

    view: PipelineView
    completed: tuple[str, ...]
    includes: tuple[str, ...]


def check_import_target(context: WorkspaceContext, name: str, project: str | None) -> None:
    """Refuse now what an import as ``name`` into ``project`` would refuse before it copies
    anything: a tag invalid or another pipeline's (NameTakenError), a project unknown."""
    with context.store.read() as session:
        check_pipeline_tag_free(session, name)
        if project:  # none named: the default project, made again if it is gone
            resolver.project(session, project)


def import_resolved(
    context: WorkspaceContext,
    resolved: ResolvedPipeline,
    *,
    name: str,
    project: str | None,
    with_data: bool,
    locked: Mapping[str, LockRecord],
    root: BundleFiles | None = None,
    jobs: int | None = None,
    on_synced: SyncProgress | None = None,
) -> ImportResult:
    check_import_target(context, name, project)
    plan = NodesToCreate(resolved.nodes)
    with staged_folders(context) as batch:
        stage_nodes(batch, plan, with_data, root=root)
        install(batch, plan, jobs or default_jobs(), on_synced)
        completed = completed_nodes(context, resolved, plan.ids, plan.with_data, locked)
        crash_point("bundle.checked")
        with context.store.write() as session:
            pipeline = insert_pipeline(session, name, project, resolved.definition.notes)
            states = dict.fromkeys(completed, NodeState.COMPLETED)
            insert_nodes(session, plan, pipeline.id, states)
            insert_edges(
                session,
                (Edge(plan.ids[e.parent], plan.ids[e.child], e.slot) for e in resolved.edges),
            )
            insert_includes(session, pipeline.id, resolved, plan)
            session.set_pipeline_inputs(
                pipeline.id,
                {
                    name: [plan.ids[key] for key in keys]
                    for name, keys in resolved.definition.inputs.items()
                },
            )
            for node_name, done in completed.items():
                session.set_node_fingerprint(
                    plan.ids[node_name], done.fingerprint, done.output_digest
                )
            view = pipeline_view(session, pipeline)
    with context.store.light_read() as session:  # each node's state and why, as `show` has them
        view = effective_view(context, session, view)
    return ImportResult(
        view,
        tuple(sorted(completed)),
        tuple(include.namespace for include in resolved.includes),
    )
