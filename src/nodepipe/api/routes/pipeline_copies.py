"""New pipelines out of existing ones, as background jobs: branch, duplicate, merge.

What the copy would refuse before it copies anything is refused before the job starts, so
the answer says it at once: an unknown pipeline or node is a plain 404, a tag already taken a
409 naming the ``tag`` field. What can only be found out while copying (a failed environment
sync, a tag taken meanwhile) is the job's error.
"""

from __future__ import annotations

from nodepipe.api.deps import OriginDep, ServicesDep
from nodepipe.api.routes.jobs import start_job
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.events import JobPublic
from nodepipe.api.schemas.projects import BranchCreate, MergeCreate, PipelineCopyCreate
from nodepipe.domain.model import PipelineView
from nodepipe.live.jobs import JobOutcome
from nodepipe.services.graph.pipeline_copies import Merged

router = resource_router("/pipelines", tags=["pipelines"], errors=(404, 409))


def _made(view: PipelineView, verb: str) -> JobOutcome:
    return JobOutcome(
        f"{verb} pipeline {view.pipeline.tag!r} ({len(view.nodes)} nodes)",
        view.pipeline.id,
        tuple(item.node.id for item in view.nodes),
    )


def _merged(merged: Merged) -> JobOutcome:
    """The job's message names the nodes renamed to keep one tag per pipeline, and each input
    name two sources declared for different nodes."""
    made = _made(merged.view, "merged")
    if not merged.renamed and not merged.warnings:
        return made
    told = [made.message]
    if merged.renamed:
        told.append(f"renamed {', '.join(merged.renamed)}")
    told.extend(f"warning: {warning}" for warning in merged.warnings)
    return JobOutcome("; ".join(told), made.pipeline_id, made.node_ids)


@router.post("/merges", status_code=202)
def merge_pipelines(body: MergeCreate, services: ServicesDep, origin: OriginDep) -> JobPublic:
    """A new pipeline holding the union of the ``sources``; shared nodes appear once."""
    ws = services.workspace
    sources = [ws.pipelines.get(name).id for name in body.sources]
    ws.pipeline_copies.check_merge(
        sources,
        body.tag,
        body.with_data,
        body.project,
        allow_duplicate_tag=body.allow_duplicate_tag,
    )
    return start_job(
        services,
        "merge",
        f"merge {len(sources)} pipelines into {body.tag!r}",
        lambda: _merged(
            ws.pipeline_copies.merge(
                sources,
                body.tag,
                body.with_data,
                body.project,
                allow_duplicate_tag=body.allow_duplicate_tag,
            )
        ),
        origin,
    )


@router.post("/{pipeline}/branches", status_code=202)
def branch_pipeline(
    pipeline: str, body: BranchCreate, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Upstream of ``from_node`` shared by reference; it and everything below copied."""
    ws = services.workspace
    source = ws.pipelines.get(pipeline)
    start = ws.nodes.find(body.from_node, source.id)
    ws.pipeline_copies.check_branch(source.id, start.id, body.tag, body.project)
    return start_job(
        services,
        "branch",
        f"branch {source.tag!r} from {start.tag!r} as {body.tag!r}",
        lambda: _made(
            ws.pipeline_copies.branch(source.id, start.id, body.tag, body.project), "branched"
        ),
        origin,
    )


@router.post("/{pipeline}/copies", status_code=202)
def duplicate_pipeline(
    pipeline: str, body: PipelineCopyCreate, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """A copy of the pipeline's own nodes (references stay references)."""
    ws = services.workspace
    source = ws.pipelines.get(pipeline)
    ws.pipeline_copies.check_duplicate(source.id, body.tag, body.with_data, body.project)
    return start_job(
        services,
        "duplicate",
        f"duplicate {source.tag!r} as {body.tag!r}",
        lambda: _made(
            ws.pipeline_copies.duplicate(source.id, body.tag, body.with_data, body.project),
            "created",
        ),
        origin,
    )
