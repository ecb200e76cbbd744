"""What a route may ask for, as ``Annotated`` dependency aliases, and the app's live services.

``AppServices`` is built once by the app's lifespan: the workspace and the helpers the web
needs on top of it (event hub, background jobs and runs, canvas, a watcher of runs started
by other processes, a watcher of edits in node folders, the pipelines' last answers).
Routes take ``WorkspaceDep``, ``HubDep``... and never reach for globals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from nodepipe.api.settings import ServerSettings
from nodepipe.live.background_runs import RunLauncher
from nodepipe.live.canvas import CanvasService
from nodepipe.live.events import EventHub, GraphChanged
from nodepipe.live.external_runs import ExternalRunWatcher
from nodepipe.live.jobs import JobRunner
from nodepipe.live.node_files import NodeFileWatcher
from nodepipe.live.pipeline_answers import PipelineAnswers
from nodepipe.schemas.graph_json import GraphParts
from nodepipe.services.graph.view_updates import KeptView
from nodepipe.services.workspace import Workspace

CLIENT_HEADER = "X-Nodepipe-Client"


@dataclass(frozen=True, slots=True)
class AppServices:
    workspace: Workspace
    settings: ServerSettings
    hub: EventHub
    jobs: JobRunner
    launcher: RunLauncher
    canvas: CanvasService
    watcher: ExternalRunWatcher
    files: NodeFileWatcher
    answers: PipelineAnswers[tuple[KeptView, GraphParts]]
    """Each pipeline's last answer, its view and written parts (``routes.pipelines``)."""

    @classmethod
    def start(cls, workspace: Workspace, settings: ServerSettings) -> AppServices:
        hub = EventHub()
        services = cls(
            workspace=workspace,
            settings=settings,
            hub=hub,
            jobs=JobRunner(hub),
            launcher=RunLauncher(workspace.runs, workspace.pipelines, hub),
            canvas=CanvasService(workspace.context),
            watcher=ExternalRunWatcher(workspace.context, hub),
            files=NodeFileWatcher(
                workspace.context.layout.nodes_dir, hub, workspace.context.folder_memo
            ),
            answers=PipelineAnswers(
                workspace.context.store.changes.token, workspace.context.folder_memo
            ),
        )
        services.watcher.start()
        services.files.start()
        return services

    def stop(self) -> None:
        """Cancel runs still going, finish jobs, end every event stream."""
        self.watcher.stop()
        self.files.stop()
        self.launcher.shutdown()
        self.jobs.shutdown()
        self.hub.close()


def get_services(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


ServicesDep = Annotated[AppServices, Depends(get_services)]


def get_workspace(services: ServicesDep) -> Workspace:
    return services.workspace


def get_hub(services: ServicesDep) -> EventHub:
    return services.hub


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
HubDep = Annotated[EventHub, Depends(get_hub)]


def client_id(
    x_nodepipe_client: Annotated[
        str | None, Header(description="Id of the calling page, echoed in its change events.")
    ] = None,
) -> str:
    return x_nodepipe_client or ""


OriginDep = Annotated[str, Depends(client_id)]


def announce_change(request: Request, hub: HubDep, origin: OriginDep) -> Iterator[None]:
    """After a change succeeded, tell every watcher to reload (skipped when it fails)."""
    yield
    hub.publish(GraphChanged(f"{request.method} {request.url.path}", origin))


ChangesGraph = Depends(announce_change)
"""Put in ``dependencies=[...]`` of every route that changes the workspace."""
