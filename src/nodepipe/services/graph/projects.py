"""Use cases on projects: create, list, show, rename, annotate, delete."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nodepipe.domain.errors import ConflictError, NameTakenError
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Project, ProjectView
from nodepipe.domain.names import notes_text, validate_name
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext, now
from nodepipe.services.renamed import warn_renamed

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession


def check_project_name_free(session: StoreSession, name: str) -> None:
    clash = next((p for p in session.list_projects() if p.name == name), None)
    if clash is not None:
        raise NameTakenError(f"a project named {name!r} already exists (id {clash.id})", "name")


@dataclass(frozen=True, slots=True)
class ProjectService:
    context: WorkspaceContext

    def new(self, name: str, notes: str = "") -> Project:
        validate_name(name, "project name")
        with self.context.store.write() as session:
            check_project_name_free(session, name)
            project = Project(id=new_id(), name=name, notes=notes_text(notes), created_at=now())
            session.insert_project(project)
        return project

    def list(self) -> builtins.list[Project]:
        with self.context.store.light_read() as session:
            return session.list_projects()

    def get(self, name: str) -> Project:
        with self.context.store.read() as session:
            return resolver.project(session, name)

    def show(self, name: str) -> ProjectView:
        """The project with its pipelines and their lineage, read at one moment."""
        with self.context.store.read() as session:
            project = resolver.project(session, name)
            pipelines = tuple(session.list_pipelines(project.id))
            lineage = tuple(session.lineage([p.id for p in pipelines]))
            return ProjectView(project, pipelines, lineage)

    def rename(self, name: str, new_name: str) -> Project:
        validate_name(new_name, "project name")
        with self.context.store.write() as session:
            project = resolver.project(session, name)
            if new_name != project.name:
                check_project_name_free(session, new_name)
            session.update_project(project.id, name=new_name)
            return resolver.project(session, project.id)

    def notes(self, name: str, text: str) -> Project:
        """Set the project's notes (``project notes``)."""
        with self.context.store.write() as session:
            project = resolver.project(session, name)
            session.update_project(project.id, notes=notes_text(text))
            return resolver.project(session, project.id)

    def annotate(self, name: str, notes: str) -> Project:
        """The former name of ``notes``."""
        warn_renamed("projects.annotate", "projects.notes")
        return self.notes(name, notes)

    def delete(self, name: str) -> Project:
        """Delete an empty project (move or delete its pipelines first)."""
        with self.context.store.write() as session:
            project = resolver.project(session, name)
            remaining = session.list_pipelines(project.id)
            if remaining:
                tags = ", ".join(p.tag for p in remaining)
                raise ConflictError(
                    f"project {project.name!r} still holds pipelines ({tags}); "
                    "move or delete them first"
                )
            session.delete_project(project.id)
            return project
