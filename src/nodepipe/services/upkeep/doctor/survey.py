"""One look at a workspace that doctor's findings are made from: the node folders, the
journal, and the store's node rows, read in that order.

The order matters to a workspace in use. A folder moved into ``nodes/`` by a live operation is
named in its intent before the move, so listing folders before looking at the journal never
takes such a folder for an orphan; reading the rows last sees those the operation committed
meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nodepipe.domain.ids import looks_like_id
from nodepipe.domain.model import Node
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.journal_probe import JournalState, Named, look, named_by

Progress = Callable[[str], None]
"""Told what doctor is doing now, so that a long look can show progress."""


def no_progress(_: str) -> None:
    return None


@dataclass(frozen=True)
class Survey:
    context: WorkspaceContext
    folders: dict[str, Path]
    """Folders in ``nodes/`` named like node ids."""
    rows: dict[str, Node]
    journal: JournalState
    live: Named
    """What operations in flight name: never touched."""
    abandoned: Named
    """What operations of dead processes name: settled by recovering them."""

    @classmethod
    def take(cls, context: WorkspaceContext) -> Survey:
        folders = node_folders(context.layout.nodes_dir)
        journal = look(context.layout.staging_dir)
        with context.store.read() as session:
            rows = {node.id: node for node in session.list_nodes()}
        return cls(
            context, folders, rows, journal, named_by(journal.live), named_by(journal.abandoned)
        )

    def untouchable(self, path: Path, node_id: str | None = None) -> bool:
        """Whether an operation, live or to be recovered, names ``path`` (or its node)."""
        return self.live.covers(path, node_id) or self.abandoned.covers(path, node_id)


def node_folders(nodes_dir: Path) -> dict[str, Path]:
    try:
        entries = sorted(nodes_dir.iterdir())
    except FileNotFoundError:
        return {}
    return {
        entry.name: entry
        for entry in entries
        if looks_like_id(entry.name) and entry.is_dir() and not entry.is_symlink()
    }
