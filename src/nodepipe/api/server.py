"""``serve``: run the web app with uvicorn; what ``nodepipe serve`` calls.

Every server needs a token, on loopback too: the one given (``--token``/``$NODEPIPE_TOKEN``)
or a random one made here, printed in the link to open, like a notebook server. While it runs,
the server's info file (link and token, readable by its user only) lets ``nodepipe server
list`` show the link again. The workspace is opened before the server starts, so a wrong path
fails at once with nodepipe's usual message.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TextIO

import uvicorn
from fastapi import FastAPI

from nodepipe.api.app import create_app
from nodepipe.api.settings import DEFAULT_HOST, DEFAULT_PORT, ServerSettings, new_token
from nodepipe.api.static_files import is_built
from nodepipe.services.workspace import Workspace


def settings_for(
    host: str, port: int, token: str | None, password_hash: str | None = None
) -> ServerSettings:
    """The settings to serve with: a random token unless one is given."""
    settings = ServerSettings(
        host=host, port=port, token=token or new_token(), password_hash=password_hash
    )
    settings.check()
    return settings


GRACEFUL_SHUTDOWN_SECONDS = 3
"""How long a stopping server lets requests in flight finish before it cancels them (its event
streams, which never finish on their own, are ended at once: ``_Server``)."""


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
    with Workspace.open(workspace_path) as workspace:
        settings = settings_for(host, port, token, workspace.servers.password_hash())
        app = create_app(workspace, settings)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            proxy_headers=False,
        )
        with (
            _stop_ends_the_process(),
            workspace.servers.announced(settings.local_url, settings.token),
        ):
            _announce(out, workspace, settings)
            _Server(config, app).run()


@contextmanager
def _stop_ends_the_process() -> Iterator[None]:
    """After a graceful stop uvicorn raises SIGTERM again; end with SystemExit instead, so
    the clean-up around the server (its info file) runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _announce(out: TextIO, workspace: Workspace, settings: ServerSettings) -> None:
    print(f"nodepipe: serving the workspace {workspace.root}", file=out)
    for url in settings.urls():
        print(f"  open {url}", file=out)
    print("  (every request needs this token: keep the link private;", file=out)
    print("   `nodepipe server list` shows it again)", file=out)
    if settings.password_hash is not None:
        print("  browsers may also log in with the server password", file=out)
    if not is_built():
        docs = f"{settings.local_url}/api/docs?token={settings.token}"
        print(f"  the web app is not built: run `make web`; the API is up at {docs}", file=out)
    print("  press Ctrl-C to stop", file=out, flush=True)
