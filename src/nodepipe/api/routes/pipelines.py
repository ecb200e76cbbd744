"""``/pipelines``: list, create, the whole graph, update, delete, computed status, positions."""

from __future__ import annotations

from fastapi import Request, Response

from nodepipe.api.deps import ChangesGraph, ServicesDep, WorkspaceDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.graph import PositionsPublic, PositionsUpdate
from nodepipe.api.schemas.projects import PipelineCreate, PipelineUpdate
from nodepipe.schemas.graph import PipelineGraph, PipelineStatusPublic
from nodepipe.schemas.graph_json import GraphParts, pipeline_graph_parts
from nodepipe.schemas.nodes import RemovalPublic
from nodepipe.schemas.projects import PipelinePublic
from nodepipe.services.gc_pause import gc_paused
from nodepipe.services.graph.view_updates import KeptView

router = resource_router("/pipelines", tags=["pipelines"], errors=(404, 409))


@router.get("")
def list_pipelines(ws: WorkspaceDep, project: str | None = None) -> list[PipelinePublic]:
    return [PipelinePublic.model_validate(p) for p in ws.pipelines.list(project)]


@router.post("", status_code=201, dependencies=[ChangesGraph])
def create_pipeline(body: PipelineCreate, ws: WorkspaceDep) -> PipelinePublic:
    return PipelinePublic.model_validate(ws.pipelines.new(body.tag, body.project, body.notes))


@router.get("/{pipeline}", response_model=PipelineGraph)
def get_pipeline(pipeline: str, request: Request, services: ServicesDep) -> Response:
    """The whole graph, whatever its size, in a fixed number of store queries.

    Built from trusted domain values and serialized once (the hot path of the canvas).
    """

    # the last answer again while nothing it was built from changed (live.pipeline_answers);
    # its weak ETag turns a page's If-None-Match into a 304 without a body
    def build(
        caught_up: bool, last: tuple[KeptView, GraphParts] | None, same_store: bool
    ) -> tuple[bytes, frozenset[str], tuple[KeptView, GraphParts]]:
        # computed again only where a change since the last answer reaches
        # (services.graph.view_updates), written straight from the view's values as the schema
        # writes them, a node's bytes reused when its value is (schemas.graph_json), with the
        # garbage collector held off while the view is built
        with gc_paused():
            kept = services.workspace.pipelines.show_updated(
                pipeline, caught_up, last[0] if last else None, same_store
            )
            body, parts = pipeline_graph_parts(kept.view, last[1] if last else None)
            return body, kept.ids, (kept, parts)

    answer = services.answers.answer(pipeline, build)
    headers = {"ETag": answer.etag, "Cache-Control": "no-cache"}
    if answer.matches(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type="application/json", headers=headers)


@router.patch("/{pipeline}", dependencies=[ChangesGraph])
def update_pipeline(pipeline: str, body: PipelineUpdate, ws: WorkspaceDep) -> PipelinePublic:
    """Applied in this order: unlock, rename, notes, move, lock."""
    found = ws.pipelines.get(pipeline)
    if body.locked is False:
        found = ws.pipelines.unlock(found.id)
    if body.tag is not None:
        found = ws.pipelines.rename(found.id, body.tag)
    if body.notes is not None:
        found = ws.pipelines.notes(found.id, body.notes)
    if body.project is not None:
        found = ws.pipelines.move(found.id, body.project)
    if body.locked is True:
        found = ws.pipelines.lock(found.id)
    return PipelinePublic.model_validate(found)


@router.delete("/{pipeline}", dependencies=[ChangesGraph])
def delete_pipeline(pipeline: str, ws: WorkspaceDep) -> RemovalPublic:
    """Delete a pipeline; its nodes that other pipelines show survive there."""
    return RemovalPublic.model_validate(ws.pipelines.delete(pipeline))


@router.get("/{pipeline}/status")
def pipeline_status(pipeline: str, ws: WorkspaceDep) -> PipelineStatusPublic:
    """Every node's effective state with the reasons (fingerprints against the last runs)."""
    return PipelineStatusPublic.model_validate(ws.runs.status(pipeline))


@router.put("/{pipeline}/positions", dependencies=[ChangesGraph])
def place_nodes(pipeline: str, body: PositionsUpdate, services: ServicesDep) -> PositionsPublic:
    """Move nodes on this pipeline's canvas (allowed on references and locked pipelines)."""
    positions = {p.node_id: (p.x, p.y) for p in body.positions}
    return PositionsPublic(placed=services.canvas.place_many(pipeline, positions))
