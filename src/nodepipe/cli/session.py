"""The workspace the current command works on, chosen by --workspace or found upwards."""

from __future__ import annotations

from pathlib import Path

from nodepipe.services.workspace import Workspace

_selected: dict[str, Path | None] = {"path": None}
_opened: dict[str, Workspace] = {}


def select_workspace(path: Path | None) -> None:
    """Choose the workspace for this invocation (forgetting any opened before)."""
    _selected["path"] = path
    opened = _opened.pop("current", None)
    if opened is not None:
        opened.close()


def workspace() -> Workspace:
    """Open the selected workspace once per process."""
    if "current" not in _opened:
        _opened["current"] = Workspace.open(_selected["path"])
    return _opened["current"]
