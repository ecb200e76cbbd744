"""The web servers of a workspace: which are running (and their links), and who may log in.

``nodepipe server list`` and ``nodepipe serve`` meet here. A server announces itself with an
info file in its user's private runtime folder for as long as it runs; listing shows the
workspace's live servers and deletes the files of servers that died without removing theirs
(killed, or a crash), telling a dead server from a new process with the same pid by its start
time. The optional password is kept as a hash in ``nodepipe.toml``.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from nodepipe.domain.passwords import hash_password
from nodepipe.execution.recovery import judged_alive, this_process
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace import server_config
from nodepipe.workspace.server_files import (
    ServerInfo,
    read_infos,
    remove_info,
    runtime_dir,
    write_info,
)


@dataclass(frozen=True, slots=True)
class ServerService:
    context: WorkspaceContext

    def list(self) -> builtins.list[ServerInfo]:
        """This user's live servers of this workspace; stale info files are removed."""
        root = str(self.context.layout.root)
        return [info for info in _live_servers() if info.workspace == root]

    def running(self) -> builtins.list[ServerInfo]:
        """The former name of ``list``."""
        from nodepipe.services.renamed import warn_renamed

        warn_renamed("servers.running", "servers.list")
        return self.list()

    @contextmanager
    def announced(self, url: str, token: str) -> Iterator[ServerInfo]:
        """This process serves the workspace at ``url``: its info file exists while inside."""
        _live_servers()  # clean up after servers that died
        pid, host, started = this_process()
        info = ServerInfo(
            workspace=str(self.context.layout.root),
            url=url,
            token=token,
            pid=pid,
            host=host,
            process_started=started,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        path = write_info(info, runtime_dir())
        try:
            yield info
        finally:
            remove_info(path)

    def password_hash(self) -> str | None:
        """The hash of the password browsers may log in with (None: the token only)."""
        return server_config.password_hash(self.context.layout)

    def set_password(self, password: str) -> None:
        """Let browsers log in with ``password`` (only its salted hash is written)."""
        from nodepipe.domain.arguments import text_of

        text_of(password, "the password")
        server_config.set_password_hash(self.context.layout, hash_password(password))

    def clear_password(self) -> bool:
        """Forget the password; False when none was set."""
        had = self.password_hash() is not None
        server_config.set_password_hash(self.context.layout, None)
        return had


def _live_servers() -> list[ServerInfo]:
    alive = []
    for path, info in read_infos(runtime_dir()):
        if _alive(info):
            alive.append(info)
        else:
            remove_info(path)
    return alive


def _alive(info: ServerInfo) -> bool:
    """Whether the server may still run: another machine's (a shared home) or another PID
    namespace's is not ours to judge."""
    try:
        recorded = datetime.fromisoformat(info.started_at).timestamp()
    except ValueError:
        recorded = None
    return judged_alive(info.pid, info.host, info.process_started, recorded) is not False
