"""Use cases on pipelines: create, show, rename, annotate, move, lock, delete."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nodepipe.domain.errors import NameTakenError
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Lineage, Pipeline, PipelineView, Project
from nodepipe.domain.names import notes_text, validate_name
from nodepipe.domain.views import Loss, RemovalReport
from nodepipe.services import resolver
from nodepipe.services.context import DEFAULT_PROJECT, WorkspaceContext, now
from nodepipe.services.graph.effective import effective_view, pipeline_view
from nodepipe.services.graph.library_links import check_no_library_users
from nodepipe.services.graph.losses import pipeline_losses
from nodepipe.services.graph.removal import deleted_by_removal, remove_from_pipeline
from nodepipe.services.graph.staged_folders import delete_nodes_on_disk, deleting_node_folders
from nodepipe.services.guards import check_pipeline_editable
from nodepipe.services.renamed import warn_renamed

if TYPE_CHECKING:
    from nodepipe.services.graph.view_updates import KeptView
    from nodepipe.store.queries import StoreSession


def check_pipeline_tag_free(session: StoreSession, tag: str) -> None:
    validate_name(tag, "pipeline tag")
    clash = next((p for p in session.list_pipelines() if p.tag == tag), None)
    if clash is not None:
        raise NameTakenError(f"a pipeline tagged {tag!r} already exists (id {clash.id})", "tag")


def insert_pipeline(
    session: StoreSession, tag: str, project: str | None, notes: str = ""
) -> Pipeline:
    check_pipeline_tag_free(session, tag)
    owner = resolver.project(session, project) if project else default_project(session)
    pipeline = Pipeline(new_id(), tag, owner.id, notes_text(notes), False, now())
    session.insert_pipeline(pipeline)
    return pipeline


def default_project(session: StoreSession) -> Project:
    """The project called ``default``, where a pipeline goes when none is named; made again
    when it was renamed or deleted (a user may rename it; a new pipeline still has a home)."""
    found = next((p for p in session.list_projects() if p.name == DEFAULT_PROJECT), None)
    if found is None:
        found = Project(id=new_id(), name=DEFAULT_PROJECT, notes="", created_at=now())
        session.insert_project(found)
    return found


@dataclass(frozen=True, slots=True)
class PipelineService:
    context: WorkspaceContext

    def new(self, tag: str, project: str | None = None, notes: str = "") -> Pipeline:
        with self.context.store.write() as session:
            return insert_pipeline(session, tag, project, notes)

    def list(self, project: str | None = None) -> builtins.list[Pipeline]:
        with self.context.store.light_read() as session:
            owner = resolver.project(session, project).id if project else None
            return session.list_pipelines(owner)

    def get(self, name: str) -> Pipeline:
        with self.context.store.light_read() as session:
            return resolver.pipeline(session, name)

    def show(self, name: str, caught_up: bool | None = None) -> PipelineView:
        """The whole graph, each node with its effective state and reasons (as ``status``);
        ``caught_up``: whether the web app just caught its memo up with its watcher."""
        with self.context.store.light_read() as session:
            view = pipeline_view(session, resolver.pipeline(session, name))
            return effective_view(self.context, session, view, caught_up)

    def show_updated(
        self, name: str, caught_up: bool, last: KeptView | None, same_store: bool = False
    ) -> KeptView:
        """``show``'s view for the web app, computed again only where a change since ``last``
        (the one it kept) reaches (``view_updates``); ``same_store``: nothing was committed to
        the store since ``last`` was read (its rows are used again, not read)."""
        from nodepipe.services.graph.view_updates import updated_view  # the web app's alone

        with self.context.store.light_read() as session:
            pipeline = resolver.pipeline(session, name)
            return updated_view(self.context, session, pipeline, caught_up, last, same_store)

    def lineage(self, project: str | None = None) -> builtins.list[Lineage]:
        """How the pipelines (of ``project``) came from each other."""
        with self.context.store.read() as session:
            if project is None:
                return session.lineage()
            ids = [p.id for p in session.list_pipelines(resolver.project(session, project).id)]
            return session.lineage(ids)

    def rename(self, name: str, new_tag: str) -> Pipeline:
        with self.context.store.write() as session:
            pipeline = resolver.pipeline(session, name)
            check_pipeline_editable(pipeline)
            if new_tag != pipeline.tag:
                check_pipeline_tag_free(session, new_tag)
            session.update_pipeline(pipeline.id, tag=new_tag)
            return resolver.pipeline(session, pipeline.id)

    def notes(self, name: str, text: str) -> Pipeline:
        """Set the pipeline's notes (``pipeline notes``; Notes… in the web app)."""
        with self.context.store.write() as session:
            pipeline = resolver.pipeline(session, name)
            check_pipeline_editable(pipeline)
            session.update_pipeline(pipeline.id, notes=notes_text(text))
            return resolver.pipeline(session, pipeline.id)

    def annotate(self, name: str, notes: str) -> Pipeline:
        """The former name of ``notes``."""
        warn_renamed("pipelines.annotate", "pipelines.notes")
        return self.notes(name, notes)

    def move(self, name: str, project: str) -> Pipeline:
        with self.context.store.write() as session:
            pipeline = resolver.pipeline(session, name)
            destination = resolver.project(session, project)
            session.update_pipeline(pipeline.id, project_id=destination.id)
            return resolver.pipeline(session, pipeline.id)

    def lock(self, name: str) -> Pipeline:
        """Make the pipeline read-only (``pipeline lock``)."""
        return self._set_locked(name, True)

    def unlock(self, name: str) -> Pipeline:
        """Make a locked pipeline editable again (``pipeline unlock``)."""
        return self._set_locked(name, False)

    def set_locked(self, name: str, locked: bool) -> Pipeline:
        """The former name of ``lock`` and ``unlock``."""
        warn_renamed("pipelines.set_locked", "pipelines.lock / pipelines.unlock")
        return self._set_locked(name, locked)

    def _set_locked(self, name: str, locked: bool) -> Pipeline:
        with self.context.store.write() as session:
            pipeline = resolver.pipeline(session, name)
            session.update_pipeline(pipeline.id, locked=locked)
            return resolver.pipeline(session, pipeline.id)

    def deletion_losses(self, name: str) -> builtins.list[Loss]:
        """The node folders ``delete`` would delete (asked about before it does)."""
        return pipeline_losses(self.context, name)

    def delete(self, name: str) -> RemovalReport:
        """Delete a pipeline; nodes other pipelines still show survive there."""
        with deleting_node_folders(self.context) as deletion:
            with self.context.store.write() as session:
                pipeline = resolver.pipeline(session, name)
                check_pipeline_editable(pipeline)
                members = [node for node, _ in session.pipeline_members(pipeline.id)]
                doomed = deleted_by_removal(session, pipeline, members)
                check_no_library_users(
                    self.context, session, pipeline, doomed, "removing the pipeline"
                )
                report = remove_from_pipeline(session, pipeline, members)
                session.delete_pipeline(pipeline.id)
                deletion.record(deleting=list(report.deleted))
            delete_nodes_on_disk(self.context, report.deleted)
        return report
