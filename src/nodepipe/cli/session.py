"""The workspace the current command works on, chosen by --workspace or found upwards.

Opening a workspace imports the services (and SQLAlchemy), so it happens only when a command
first asks for it; the command modules likewise import the services, the execution layer and
PyYAML inside the commands that need them. Then ``nodepipe --help`` and usage errors need not
pay for them (once the ``nodepipe`` package itself stops importing the services eagerly).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nodepipe.services.workspace import Workspace


class _Session:
    """One invocation's choice of workspace, and that workspace once opened."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.opened: Workspace | None = None

    def select(self, path: Path | None) -> None:
        self.close()
        self.path = path

    def workspace(self) -> Workspace:
        if self.opened is None:
            from nodepipe.services.workspace import Workspace

            self.opened = Workspace.open(self.path)
        return self.opened

    def close(self) -> None:
        if self.opened is not None:
            self.opened.close()
            self.opened = None


_session = _Session()


def select_workspace(path: Path | None) -> None:
    """Choose the workspace for this invocation (closing any opened before)."""
    _session.select(path)


def workspace() -> Workspace:
    """The selected workspace, opened on first use."""
    return _session.workspace()


def close_workspace() -> None:
    """Close the workspace if a command opened it (at the end of every invocation)."""
    _session.close()


def selected_path() -> Path | None:
    """The --workspace path given (None: look upwards from the current directory)."""
    return _session.path
