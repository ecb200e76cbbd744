"""Being told how long walks of external code go (``workspace.walk_progress`` says when and
how); the CLI shows it on a terminal."""

from __future__ import annotations

from nodepipe.workspace.walk_progress import reporting

__all__ = ["reporting"]
