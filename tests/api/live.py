"""A real uvicorn server on a free loopback port, in a thread (streams) or a process (browsers).

Every server needs its token. A thread's server gets one made here; a process's server makes
its own and the test finds it the way the CLI does, in the server's info file (in a private
runtime folder of the test's own, ``$NODEPIPE_RUNTIME_DIR``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from nodepipe.api import create_app
from nodepipe.api.server import GRACEFUL_SHUTDOWN_SECONDS
from nodepipe.api.settings import ServerSettings
from nodepipe.services.workspace import Workspace
from nodepipe.workspace.server_files import RUNTIME_DIR_ENV, ServerInfo, read_infos
from support.waiting import wait_for

STOP_SECONDS = 60
"""How long a server in a thread may take to stop: its requests cancelled, its jobs finished."""


@dataclass(frozen=True)
class LiveServer:
    url: str
    token: str
    pid: int

    @property
    def headers(self) -> dict[str, str]:
        """What a client of the API sends: the token."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def link(self) -> str:
        """What a browser opens first: the app keeps the token in the tab, not in the address."""
        return f"{self.url}/?token={self.token}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(
    url: str, token: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:

    def answered() -> bool:
        _check_running(process)
        try:
            answer = httpx.get(f"{url}/api/health", headers={"X-Nodepipe-Token": token}, timeout=1)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    wait_for(answered, f"a server to answer at {url}", timeout)


def info_of(
    runtime_dir: Path, process: subprocess.Popen[bytes], timeout: float = 30.0
) -> ServerInfo:
    """The info file the server ``process`` wrote into ``runtime_dir`` (waits for it)."""

    def written() -> ServerInfo | None:
        _check_running(process)
        return next((info for _, info in read_infos(runtime_dir) if info.pid == process.pid), None)

    return wait_for(written, f"the server to write its info file into {runtime_dir}", timeout)


def _check_running(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is not None:
        raise RuntimeError(f"the server exited with code {process.returncode}")


@contextmanager
def server_thread(workspace: Workspace, token: str | None = None) -> Iterator[LiveServer]:
    """Serve ``workspace`` from a thread of this process."""
    port = free_port()
    settings = ServerSettings(port=port, **({"token": token} if token else {}))
    app = create_app(workspace, settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,  # as served
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    live = LiveServer(f"http://127.0.0.1:{port}", settings.token, os.getpid())
    try:
        wait_until_up(live.url, live.token)
        yield live
    finally:
        services = getattr(app.state, "services", None)
        if services is not None:  # as a served app does on a stop: its event streams end now
            services.hub.close()
        server.should_exit = True
        thread.join(STOP_SECONDS)
        if thread.is_alive():  # it would go on serving (and running jobs) under later tests
            raise RuntimeError(f"the server at {live.url} did not stop within {STOP_SECONDS} s")


def server_env(runtime_dir: Path) -> dict[str, str]:
    """The environment of a server process (and of a CLI that should find it)."""
    env = {k: v for k, v in os.environ.items() if k != "NODEPIPE_TOKEN"}
    return {**env, "PYTHONUNBUFFERED": "1", RUNTIME_DIR_ENV: str(runtime_dir)}


@contextmanager
def server_process(
    root: Path,
    log: Path,
    runtime_dir: Path | None = None,
    start_timeout: float = 30.0,
    *,
    again: LiveServer | None = None,
    module: str = "nodepipe.api",
) -> Iterator[LiveServer]:
    """``python -m nodepipe.api`` serving the workspace at ``root``, with a token of its own.

    Its info file goes to ``runtime_dir`` (default: ``runtime/`` beside ``log``). A server of a
    10,000-node workspace takes longer to answer first: ``start_timeout``. ``again``: a server
    started again on that server's port with its token (as a user restarts ``nodepipe serve``),
    so a page open on it reconnects. ``module``: another module of the same command line (one of
    the tests' own, which injects a fault into the server).
    """
    port = free_port() if again is None else int(again.url.rsplit(":", 1)[1])
    runtime_dir = runtime_dir or log.parent / "runtime"
    command = [sys.executable, "-m", module, "-w", str(root), "--port", str(port)]
    if again is not None:
        command.append(f"--token={again.token}")  # a token may begin with "-"
    env = server_env(runtime_dir)
    if module != "nodepipe.api":  # the tests' own module: found beside this one
        env["PYTHONPATH"] = str(Path(__file__).parents[1])
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            info = info_of(runtime_dir, process, start_timeout)
            live = LiveServer(info.url, info.token, process.pid)
            wait_until_up(live.url, live.token, start_timeout, process=process)
            yield live
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
