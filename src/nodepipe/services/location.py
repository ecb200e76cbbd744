"""Where a workspace is, for the interfaces: the variable that names it, and whether a folder
is one.

``--workspace`` reads ``WORKSPACE_ENV``; ``nodepipe demo`` asks whether its folder is already
a workspace. The command's own workspace is found by ``context.locate_workspace``.
"""

from __future__ import annotations

from pathlib import Path

from nodepipe.workspace.layout import WORKSPACE_ENV, find_workspace_root

__all__ = ["WORKSPACE_ENV", "is_workspace"]


def is_workspace(path: Path) -> bool:
    """Whether ``path`` is a workspace's root folder (not merely inside one)."""
    return find_workspace_root(path) == path.resolve()
