"""``serve``: run the web app with uvicorn; what ``nodepipe serve`` calls.

Bound to loopback (the default, 127.0.0.1:8000) it needs no login. Bound to any other address
it needs a token: the one given, or one generated here and printed in the link to open, like
a notebook server. The workspace is opened before the server starts, so a wrong path fails
at once with nodepipe's usual message.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType
from typing import TextIO

import uvicorn
from fastapi import FastAPI

from nodepipe.api.app import create_app
from nodepipe.api.settings import DEFAULT_HOST, DEFAULT_PORT, ServerSettings, new_token
from nodepipe.api.static_files import is_built
from nodepipe.services.workspace import Workspace


def settings_for(host: str, port: int, token: str | None) -> ServerSettings:
    """The settings to serve with: a token is generated when the address needs one."""
    settings = ServerSettings(host=host, port=port, token=token or None)
    if not settings.loopback and settings.token is None:
        settings = ServerSettings(host=host, port=port, token=new_token())
    settings.check()
    return settings


class _Server(uvicorn.Server):
    """Ends the app's event streams as soon as a stop is asked, so shutdown does not wait."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        services = getattr(self._app.state, "services", None)
        if services is not None:
            services.hub.close()
        super().handle_exit(sig, frame)


def serve(
    workspace_path: Path | str | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    *,
    out: TextIO = sys.stdout,
    log_level: str = "warning",
) -> None:
    """Serve the workspace at ``workspace_path`` (default: found from here) until stopped."""
    settings = settings_for(host, port, token)
    with Workspace.open(workspace_path) as workspace:
        app = create_app(workspace, settings)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            timeout_graceful_shutdown=3,
            proxy_headers=False,
        )
        _announce(out, workspace, settings)
        _Server(config, app).run()


def _announce(out: TextIO, workspace: Workspace, settings: ServerSettings) -> None:
    print(f"nodepipe: serving the workspace {workspace.root}", file=out)
    for url in settings.urls():
        print(f"  open {url}", file=out)
    if settings.token:
        print("  (every request needs this token; keep the link private)", file=out)
    if not is_built():
        print("  the web app is not built: run `make web`; the API is up at /api/docs", file=out)
    print("  press Ctrl-C to stop", file=out, flush=True)
