"""Server-info files: how a running ``nodepipe serve`` tells its owner where it is and its token.

Like ``jupyter server list``: each server writes ``server-<host>-<pid>.json`` (workspace, link,
token, pid) into a runtime folder of the OS user who started it, and removes it when it stops.
The folder is ``$NODEPIPE_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/nodepipe`` when
``$XDG_RUNTIME_DIR`` is a folder of this user's that only they may enter (an environment kept
by ``su`` names root's, ``/run/user/0``; a login without a session names one never made), else
``~/.local/share/nodepipe/runtime``. It is kept mode 0700 and each file 0600, so no other user
of the machine can read a token; a folder owned by someone else is refused, never used.
Whether the process behind a file still lives is the services' concern (they clean stale ones).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from nodepipe.domain.errors import WorkspaceError
from nodepipe.workspace.durable import write_atomic

RUNTIME_DIR_ENV = "NODEPIPE_RUNTIME_DIR"
_PREFIX = "server-"


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What one running server wrote about itself."""

    workspace: str
    url: str
    token: str
    pid: int
    host: str
    process_started: str
    """The kernel's start time of ``pid``: tells the server apart from a later process."""
    started_at: str

    @property
    def link(self) -> str:
        """The address to open: it carries the token, like a notebook server's."""
        return f"{self.url}/?token={self.token}"

    @property
    def file_name(self) -> str:
        return f"{_PREFIX}{re.sub(r'[^A-Za-z0-9.-]', '_', self.host)}-{self.pid}.json"


def runtime_dir() -> Path:
    """Where this OS user's servers keep their info files (created on first write)."""
    if explicit := os.environ.get(RUNTIME_DIR_ENV):
        return Path(explicit)
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg.startswith("/") and _own_private_folder(Path(xdg)):
        return Path(xdg) / "nodepipe"
    return Path.home() / ".local" / "share" / "nodepipe" / "runtime"


def _own_private_folder(path: Path) -> bool:
    """Whether ``path`` is a folder (not a link) of this user's that no one else may use."""
    try:
        found = path.lstat()
    except OSError:
        return False
    mine = stat.S_ISDIR(found.st_mode) and found.st_uid == os.geteuid()
    return mine and not found.st_mode & 0o077


def write_info(info: ServerInfo, directory: Path) -> Path:
    """Write ``info`` (mode 0600) into ``directory`` (made 0700 and this user's); its path."""
    target = directory / info.file_name
    with _as_workspace_error(directory):
        _private_dir(directory, create=True)
        write_atomic(target, json.dumps(asdict(info), indent=2), mode=0o600)
    return target


def read_infos(directory: Path) -> list[tuple[Path, ServerInfo]]:
    """Every readable info file in ``directory`` (none when it does not exist yet)."""
    with _as_workspace_error(directory):
        if not _private_dir(directory, create=False):
            return []
        paths = sorted(directory.glob(f"{_PREFIX}*.json"))
    found = []
    for path in paths:
        try:
            info = ServerInfo(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue  # being written, or not one of ours
        found.append((path, info))
    return found


def remove_info(path: Path) -> None:
    with _as_workspace_error(path.parent):
        path.unlink(missing_ok=True)


@contextmanager
def _as_workspace_error(directory: Path) -> Iterator[None]:
    """A folder nodepipe cannot use (no such home, no permission) is a nodepipe error."""
    try:
        yield
    except OSError as exc:
        raise WorkspaceError(
            f"cannot keep server info files in {directory} ({exc.strerror or exc}); "
            f"set {RUNTIME_DIR_ENV} to a folder of yours"
        ) from exc


def _private_dir(directory: Path, *, create: bool) -> bool:
    """Make sure ``directory`` is this user's and 0700; False when it does not exist."""
    if create:
        directory.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
    try:
        found = directory.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.geteuid():
        raise WorkspaceError(
            f"{directory} is not a folder of this user's: nodepipe keeps server tokens only in "
            f"a private folder; set {RUNTIME_DIR_ENV} to a folder of yours"
        )
    if found.st_mode & 0o077:
        directory.chmod(0o700)
    return True
