"""Putting existing nodes into pipelines: duplicate and detach (background jobs), reference,
replace."""

from __future__ import annotations

from nodepipe.api.deps import ChangesGraph, OriginDep, ServicesDep, WorkspaceDep
from nodepipe.api.routes.jobs import start_job
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.environments import NodeRestoreCreate
from nodepipe.api.schemas.events import JobPublic
from nodepipe.api.schemas.nodes import (
    DetachCreate,
    NodeCopyCreate,
    ReferenceCreate,
    ReplacementCreate,
)
from nodepipe.domain.model import Node
from nodepipe.live.jobs import JobOutcome
from nodepipe.schemas.nodes import ReplacementPublic

router = resource_router("/pipelines/{pipeline}", tags=["nodes"], errors=(404, 409))


def _copied(nodes: list[Node], verb: str, where: str) -> JobOutcome:
    tags = ", ".join(node.tag for node in nodes)
    return JobOutcome(f"{verb} {tags} {where}", None, tuple(node.id for node in nodes))


@router.post("/duplicates", status_code=202)
def duplicate_nodes(
    pipeline: str, body: NodeCopyCreate, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Copy nodes (code, lock, synced environment; outputs with ``with_data``). Refused at
    once, before the job: an unknown pipeline or node (404), a target that cannot change or a
    tag taken (409), a tag given for several nodes (422)."""
    ws = services.workspace
    source = ws.pipelines.get(pipeline)
    target = ws.pipelines.get(body.into) if body.into else source
    names = [ws.nodes.find(name, source.id).id for name in body.nodes]
    ws.node_copies.check_duplicate(
        names, source.id, target.id, tag=body.tag, allow_duplicate_tag=body.allow_duplicate_tag
    )

    def run() -> JobOutcome:
        copies = ws.node_copies.duplicate(
            names,
            source.id,
            target.id,
            body.with_data,
            tag=body.tag,
            allow_duplicate_tag=body.allow_duplicate_tag,
        )
        outcome = _copied(copies, "duplicated as", f"in {target.tag!r}")
        return JobOutcome(outcome.message, target.id, outcome.node_ids)

    return start_job(services, "duplicate-nodes", f"duplicate {len(names)} nodes", run, origin)


@router.post("/nodes/{node}/restore", status_code=202)
def restore_node(
    pipeline: str, node: str, body: NodeRestoreCreate, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """A new node in this pipeline with the code, parameters and environment ``node`` had in
    ``run``, and the parents that run read on the same slots; ``node`` is not touched.
    Refused at once: a run the node took no part in (404), one that stored nothing (422), a
    tag the pipeline has (409)."""
    ws = services.workspace
    target = ws.nodes.check_restore(node, body.run, body.tag, pipeline)

    def run() -> JobOutcome:
        restored = ws.nodes.restore(node, body.run, body.tag, target)
        gone = "".join(
            f"; input {slot} not connected: its parent {parent} no longer exists"
            for slot, parent in sorted(restored.missing_parents.items())
        )
        made = restored.node
        return JobOutcome(
            f"restored {made.tag} from run {restored.run_id}{gone}", target, (made.id,)
        )

    return start_job(
        services, "node-restore", f"restore {body.tag} from run {body.run}", run, origin
    )


@router.post("/references", dependencies=[ChangesGraph])
def reference_nodes(pipeline: str, body: ReferenceCreate, ws: WorkspaceDep) -> list[str]:
    """Show nodes of this pipeline in ``into``, read-only there; returns the ids added there."""
    return ws.node_copies.reference(
        body.nodes, body.into, pipeline, allow_duplicate_tag=body.allow_duplicate_tag
    )


@router.post("/detachments", status_code=202)
def detach_nodes(
    pipeline: str, body: DetachCreate, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Private copies of referenced nodes (and the referenced nodes below them)."""
    ws = services.workspace
    target = ws.pipelines.get(pipeline)
    names = [ws.nodes.find(name, target.id).id for name in body.nodes]

    def run() -> JobOutcome:
        copies = ws.node_copies.detach(names, target.id, body.with_data)
        outcome = _copied(copies, "detached", f"into {target.tag!r}")
        return JobOutcome(outcome.message, target.id, outcome.node_ids)

    return start_job(services, "detach", f"detach {len(names)} nodes", run, origin)


@router.post("/replacements", dependencies=[ChangesGraph])
def replace_node(pipeline: str, body: ReplacementCreate, ws: WorkspaceDep) -> ReplacementPublic:
    """Old's children in this pipeline read new on the same slots (and become stale); old is
    removed (its folder deleted when no other pipeline shows it) unless ``keep``."""
    replaced = ws.node_copies.replace(body.old, body.new, pipeline, body.keep)
    return ReplacementPublic.model_validate(replaced)
