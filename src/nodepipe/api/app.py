"""The app factory: one FastAPI app over one workspace, with its lifespan, guard and routes.

``create_app`` wires the access guard (token, hosts, origins), CORS for the app's own origin,
the error mapping, the REST routers under ``/api`` and the built web app under ``/``. The
lifespan starts the app's services (event hub, background jobs and runs) and stops them:
runs still going are cancelled, event streams end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from nodepipe.api.deps import CLIENT_HEADER, AppServices
from nodepipe.api.docs_page import add_docs
from nodepipe.api.errors import install_error_handlers
from nodepipe.api.limits import BodyLimit
from nodepipe.api.routers import ROUTERS
from nodepipe.api.security import TOKEN_HEADER, AccessGuard
from nodepipe.api.settings import ServerSettings
from nodepipe.api.static_files import STATIC_DIR, mount_static
from nodepipe.services.workspace import Workspace

API_PREFIX = "/api"


def create_app(
    workspace: Workspace | Path | str | None = None,
    settings: ServerSettings | None = None,
    static_dir: Path = STATIC_DIR,
) -> FastAPI:
    """The web app of ``workspace`` (an open one, or a path; default: found from here).

    A workspace given open stays open when the app stops; one opened here is closed.
    """
    settings = settings or ServerSettings()
    settings.check()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)
        services = AppServices.start(opened, settings)
        app.state.services = services
        with opened.runs.kills_heard():  # `nodepipe kill` reaches the app's runs, to the end
            try:
                yield
            finally:
                services.stop()
                if opened is not workspace:
                    opened.close()

    app = FastAPI(
        title="nodepipe",
        summary="The graph editor's API: the same use cases as the nodepipe CLI.",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    add_docs(app, settings, f"{API_PREFIX}/docs", f"{API_PREFIX}/openapi.json")
    mount_static(app, static_dir)
    app.add_middleware(BodyLimit)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.origins,
        allow_credentials=False,  # no cookies: the app sends its credential as a header
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["content-type", "authorization", TOKEN_HEADER, CLIENT_HEADER],
    )
    app.add_middleware(AccessGuard, settings=settings)
    return app
