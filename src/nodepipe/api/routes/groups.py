"""``/pipelines/{pipeline}/groups``: visual groups of nodes; create, rename, collapse, delete,
ungroup nodes."""

from __future__ import annotations

from nodepipe.api.deps import ChangesGraph, WorkspaceDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.graph import GroupCreate, GroupUpdate, Ungrouping
from nodepipe.schemas.graph import GroupChangePublic, GroupPublic, UngroupedPublic

router = resource_router("/pipelines/{pipeline}/groups", tags=["groups"], errors=(404, 409))


@router.get("")
def list_groups(pipeline: str, ws: WorkspaceDep) -> list[GroupPublic]:
    return [GroupPublic.model_validate(g) for g in ws.groups.list(pipeline)]


@router.post("", status_code=201, dependencies=[ChangesGraph])
def create_group(pipeline: str, body: GroupCreate, ws: WorkspaceDep) -> GroupChangePublic:
    """The new group, and the nodes put in it (each with the group it was moved from)."""
    return GroupChangePublic.model_validate(ws.groups.new(pipeline, body.name, body.nodes))


@router.post("/ungroupings", dependencies=[ChangesGraph])
def ungroup(pipeline: str, body: Ungrouping, ws: WorkspaceDep) -> UngroupedPublic:
    """Take nodes out of their groups (``group ungroup``): the answer names the group each was
    taken out of, and the nodes that were in no group (not ungrouped, not counted)."""
    return UngroupedPublic.model_validate(ws.groups.ungroup(pipeline, body.nodes))


@router.patch("/{group}", dependencies=[ChangesGraph])
def update_group(
    pipeline: str, group: str, body: GroupUpdate, ws: WorkspaceDep
) -> GroupChangePublic:
    """One change, applied in this order: take nodes out (each must be in this group: a node
    in another group, or in none, is refused naming where it is), add nodes (a node in
    another group is moved, and the answer says from which), collapse or expand, rename.
    Refused in any part, nothing changes. The answer is the group and what happened to its
    members (as ``group add --json`` prints it)."""
    change = ws.groups.update(
        pipeline,
        group,
        remove=body.remove_nodes or (),
        add=body.add_nodes or (),
        collapsed=body.collapsed,
        new_name=body.name,
    )
    return GroupChangePublic.model_validate(change)


@router.delete("/{group}", dependencies=[ChangesGraph])
def delete_group(pipeline: str, group: str, ws: WorkspaceDep) -> GroupPublic:
    """Delete the group only; its nodes stay in the pipeline."""
    return GroupPublic.model_validate(ws.groups.delete(pipeline, group))
