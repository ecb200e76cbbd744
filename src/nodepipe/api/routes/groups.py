"""``/pipelines/{pipeline}/groups``: visual groups of nodes; create, rename, collapse, delete,
ungroup nodes."""

from __future__ import annotations

from nodepipe.api.deps import ChangesGraph, WorkspaceDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.graph import GroupCreate, GroupUpdate, Ungrouping
from nodepipe.domain.resolve import Candidate, resolve
from nodepipe.schemas.graph import GroupPublic, UngroupedPublic

router = resource_router("/pipelines/{pipeline}/groups", tags=["groups"], errors=(404, 409))


@router.get("")
def list_groups(pipeline: str, ws: WorkspaceDep) -> list[GroupPublic]:
    return [GroupPublic.model_validate(g) for g in ws.groups.list(pipeline)]


@router.post("", status_code=201, dependencies=[ChangesGraph])
def create_group(pipeline: str, body: GroupCreate, ws: WorkspaceDep) -> GroupPublic:
    return GroupPublic.model_validate(ws.groups.new(pipeline, body.name, body.nodes))


@router.post("/ungroupings", dependencies=[ChangesGraph])
def ungroup(pipeline: str, body: Ungrouping, ws: WorkspaceDep) -> UngroupedPublic:
    """Take nodes out of their groups (``group ungroup``): the answer names the group each was
    taken out of, and the nodes that were in no group (not ungrouped, not counted)."""
    return UngroupedPublic.model_validate(ws.groups.ungroup(pipeline, body.nodes))


@router.patch("/{group}", dependencies=[ChangesGraph])
def update_group(pipeline: str, group: str, body: GroupUpdate, ws: WorkspaceDep) -> GroupPublic:
    """Applied in this order: take nodes out, add nodes, collapse or expand, rename."""
    groups = ws.groups.list(pipeline)
    found = resolve(group, [Candidate(g.id, g.name) for g in groups], "group", repr(pipeline))
    name = next(g.name for g in groups if g.id == found)
    if body.remove_nodes:
        ws.groups.ungroup(pipeline, body.remove_nodes)
    result = None
    if body.add_nodes:
        result = ws.groups.add(pipeline, name, body.add_nodes)
    if body.collapsed is not None:
        shown = ws.groups.collapse if body.collapsed else ws.groups.expand
        result = shown(pipeline, name)
    if body.name is not None:
        result = ws.groups.rename(pipeline, name, body.name)
    if result is None:
        result = next(g for g in groups if g.id == found)
    return GroupPublic.model_validate(result)


@router.delete("/{group}", dependencies=[ChangesGraph])
def delete_group(pipeline: str, group: str, ws: WorkspaceDep) -> GroupPublic:
    """Delete the group only; its nodes stay in the pipeline."""
    return GroupPublic.model_validate(ws.groups.delete(pipeline, group))
