"""``/pipelines/{pipeline}/edges``: connect a parent to a child's input slot; disconnect."""

from __future__ import annotations

from nodepipe.api.deps import ChangesGraph, WorkspaceDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.graph import EdgeCreate
from nodepipe.schemas.graph import EdgePublic

router = resource_router("/pipelines/{pipeline}/edges", tags=["edges"], errors=(404, 409))


@router.post("", status_code=201, dependencies=[ChangesGraph])
def connect(pipeline: str, body: EdgeCreate, ws: WorkspaceDep) -> EdgePublic:
    """A cycle is refused with 409, ``kind: cycle`` and the node ids around it."""
    return EdgePublic.model_validate(ws.edges.connect(body.parent, body.child, pipeline, body.slot))


@router.delete("/{parent}/{child}", dependencies=[ChangesGraph])
def disconnect(pipeline: str, parent: str, child: str, ws: WorkspaceDep) -> EdgePublic:
    return EdgePublic.model_validate(ws.edges.disconnect(parent, child, pipeline))
