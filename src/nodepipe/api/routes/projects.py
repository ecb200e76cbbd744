"""``/projects``: create, list, show (with pipelines and lineage), rename, set notes, delete."""

from __future__ import annotations

from fastapi import Response

from nodepipe.api.deps import ChangesGraph, WorkspaceDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.projects import ProjectCreate, ProjectUpdate
from nodepipe.schemas.projects import ProjectDetail, ProjectPublic

router = resource_router("/projects", tags=["projects"], errors=(404, 409))


@router.get("")
def list_projects(ws: WorkspaceDep) -> list[ProjectPublic]:
    return [ProjectPublic.model_validate(p) for p in ws.projects.list()]


@router.post("", status_code=201, dependencies=[ChangesGraph])
def create_project(body: ProjectCreate, ws: WorkspaceDep) -> ProjectPublic:
    return ProjectPublic.model_validate(ws.projects.new(body.name, body.notes))


@router.get("/{project}")
def get_project(project: str, ws: WorkspaceDep) -> ProjectDetail:
    return ProjectDetail.model_validate(ws.projects.show(project))


@router.patch("/{project}", dependencies=[ChangesGraph])
def update_project(project: str, body: ProjectUpdate, ws: WorkspaceDep) -> ProjectPublic:
    found = ws.projects.get(project)
    if body.name is not None:
        found = ws.projects.rename(found.id, body.name)
    if body.notes is not None:
        found = ws.projects.notes(found.id, body.notes)
    return ProjectPublic.model_validate(found)


@router.delete("/{project}", status_code=204, dependencies=[ChangesGraph])
def delete_project(project: str, ws: WorkspaceDep) -> Response:
    """Only an empty project: move or delete its pipelines first (409 otherwise)."""
    ws.projects.delete(project)
    return Response(status_code=204)
