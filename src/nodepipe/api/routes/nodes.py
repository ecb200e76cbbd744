"""``/pipelines/{pipeline}/nodes``: create, details, update, parameters, outputs, delete.

Nodes are named in the pipeline they are seen from, so that editing a node a pipeline only
references is refused as read-only (409) there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from nodepipe.api.deps import ChangesGraph, ServicesDep, WorkspaceDep
from nodepipe.api.routing import error_responses, resource_router
from nodepipe.api.schemas.nodes import (
    NodeCreate,
    NodeUpdate,
    ParamsUpdate,
    RemovalPreviewPublic,
)
from nodepipe.domain.node_files import params_version
from nodepipe.domain.states import NodeState
from nodepipe.schemas.nodes import NodeDetail, NodePublic, ParamsPublic, RemovalPublic

router = resource_router("/pipelines/{pipeline}", tags=["nodes"], errors=(404, 409))

SAVED_VERSION = "The params_version of params.yaml as saved: the next save based on it names it."

NodeNames = Annotated[list[str], Query(min_length=1, description="Node ids or tags.")]


@router.post("/nodes", status_code=201, dependencies=[ChangesGraph], responses=error_responses(502))
def create_node(pipeline: str, body: NodeCreate, ws: WorkspaceDep) -> NodePublic:
    """A node folder with its own environment, owned by this pipeline (uv runs now: a base
    package or a template's lock that cannot be had is a 422, an index out of reach a 503)."""
    node = ws.nodes.new(
        pipeline,
        body.tag,
        body.notes,
        body.template,
        body.shared_env,
        allow_duplicate_tag=body.allow_duplicate_tag,
    )
    if body.x is not None and body.y is not None:
        ws.nodes.place(node.id, pipeline, body.x, body.y)
    return NodePublic.model_validate(node)


@router.get("/nodes/{node}")
def get_node(pipeline: str, node: str, ws: WorkspaceDep) -> NodeDetail:
    return NodeDetail.model_validate(ws.nodes.show(node, pipeline))


@router.patch("/nodes/{node}", dependencies=[ChangesGraph])
def update_node(pipeline: str, node: str, body: NodeUpdate, ws: WorkspaceDep) -> NodePublic:
    """Applied in this order: unlock, rename, notes, mark, lock."""
    found = ws.nodes.find(node, pipeline)
    if body.locked is False:
        found = ws.nodes.unlock(found.id, pipeline)
    if body.tag is not None:
        found = ws.nodes.rename(found.id, body.tag, pipeline)
    if body.notes is not None:
        found = ws.nodes.notes(found.id, body.notes, pipeline, were=body.notes_were)
    if body.state is not None:
        found = ws.nodes.mark(found.id, NodeState(body.state), pipeline)
    if body.locked is True:
        found = ws.nodes.lock(found.id, pipeline)
    return NodePublic.model_validate(found)


@router.put(
    "/nodes/{node}/params",
    dependencies=[ChangesGraph],
    responses={
        200: {"headers": {"ETag": {"description": SAVED_VERSION, "schema": {"type": "string"}}}}
    },
)
def replace_params(
    pipeline: str, node: str, body: ParamsUpdate, ws: WorkspaceDep, response: Response
) -> ParamsPublic:
    """Replace the parameters with a YAML mapping, kept as typed; malformed YAML is a 422 and
    saves nothing. With ``version``, params.yaml changed since that version was read (by the
    CLI, another tab, an editor) is a 409 ``changed_on_disk`` and nothing is written. The
    answer's ETag is the version of the text saved."""
    change = ws.nodes.edit_params(
        node, replace_with=body.yaml, pipeline=pipeline, version=body.version
    )
    if change.text is not None:
        response.headers["ETag"] = f'"{params_version(change.text)}"'
    return ParamsPublic.model_validate(change.params)


@router.delete("/nodes/{node}/data", dependencies=[ChangesGraph])
def clear_outputs(pipeline: str, node: str, ws: WorkspaceDep) -> NodePublic:
    """Delete the node's outputs: it becomes ready and what reads it stale."""
    return NodePublic.model_validate(ws.nodes.clear_data(node, pipeline))


@router.delete("/nodes", dependencies=[ChangesGraph])
def delete_nodes(pipeline: str, nodes: NodeNames, ws: WorkspaceDep) -> RemovalPublic:
    """Delete nodes from this pipeline; a folder goes only when no other pipeline shows it."""
    return RemovalPublic.model_validate(ws.nodes.delete(nodes, pipeline))


@router.get("/removal-preview")
def preview_removal(pipeline: str, nodes: NodeNames, services: ServicesDep) -> RemovalPreviewPublic:
    """What ``DELETE /nodes`` would do (for the confirmation); nothing is changed."""
    return RemovalPreviewPublic.model_validate(services.canvas.preview_removal(nodes, pipeline))
