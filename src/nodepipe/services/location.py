"""Where a workspace is, for the interfaces: the variable that names it, and whether a folder
is one.

``--workspace`` reads ``WORKSPACE_ENV`` (defined here, so that reading it costs the CLI no
import); ``nodepipe demo`` asks whether its folder is already a workspace. The command's own
workspace is found by ``context.locate_workspace``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["WORKSPACE_ENV", "is_workspace"]

WORKSPACE_ENV = "NODEPIPE_WORKSPACE"
"""Environment variable naming the workspace to use (instead of searching upwards)."""


def is_workspace(path: Path) -> bool:
    """Whether ``path`` is a workspace's root folder (not merely inside one)."""
    from nodepipe.workspace.layout import find_workspace_root  # not on every command's start

    return find_workspace_root(path) == path.resolve()
