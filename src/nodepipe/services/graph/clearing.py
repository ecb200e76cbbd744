"""``node clear-data``: a node's outputs deleted, its state and its descendants' changed with
them, whatever instant the process is killed at.

The outputs are not deleted inside the store transaction (a kill halfway through would leave a
node recorded ``completed`` over half its outputs, or none, and its children ``completed`` on
inputs gone). A journal operation is opened first, naming the node and the place its outputs
go: inside the write transaction ``data/`` is renamed there (``<node>/.staging/cleared-<op>``,
on ``data/``'s own filesystem) and an empty ``data/`` made; the store then commits the node
``ready`` ("outputs cleared") and its descendants stale; only then are the outputs deleted.
Killed before the commit, the next command puts the outputs back (the store still records
them); killed after it, it finishes deleting them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.domain.model import Node
from nodepipe.domain.states import NodeState
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.staleness import mark_downstream
from nodepipe.workspace import journal
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.output_swap import STAGING

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession

CLEAR_KIND = "clear-data"
CLEARED = "outputs cleared"
"""The reason a cleared node is ``ready`` for (and how recovery knows the store committed)."""


class Clearing:
    """One ``clear-data``: made (its journal entry opened) before the write transaction,
    ``move_aside`` inside it, ``finish`` after its commit (``undo`` if it failed)."""

    def __init__(self, context: WorkspaceContext) -> None:
        self.context = context
        self.operation = journal.begin(context.layout.staging_dir, CLEAR_KIND)
        self.aside: Path | None = None

    def move_aside(self, session: StoreSession, node: Node) -> None:
        """Record where the outputs go, move them there, and record the node cleared in
        ``session`` (committed by the caller)."""
        folder = self.context.layout.node_folder(node.id)
        aside = folder.path / STAGING / f"cleared-{self.operation.id}"
        self.operation.record(node=node.id, aside=str(aside))
        session.update_node(node.id, state=NodeState.READY, state_reason=CLEARED)
        mark_downstream(session, [node.id], f"upstream: outputs of {node.tag} were cleared")
        if folder.data.is_symlink() or folder.data.exists():
            aside.parent.mkdir(exist_ok=True)
            folder.data.rename(aside)
            self.aside = aside
        folder.data.mkdir(parents=True)
        crash_point("clear.moved-aside")

    def finish(self) -> None:
        """After the commit: delete the outputs and end the operation."""
        crash_point("clear.committed")
        if self.aside is not None:
            remove_outputs(self.aside)
        self.operation.finish()

    def undo(self, node: Node) -> None:
        """The transaction failed: the outputs go back, and the operation ends."""
        put_back(self.context, node.id, self.aside)
        self.operation.finish()


def remove_outputs(path: Path) -> None:
    """Delete outputs moved aside; a link or a file is removed, never what a link leads to."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def put_back(context: WorkspaceContext, node_id: str, aside: Path | None) -> None:
    """Return outputs moved aside to ``data/``, in place of the empty folder made for them."""
    if aside is None or not (aside.is_symlink() or aside.exists()):
        return
    data = context.layout.node_folder(node_id).data
    if data.is_dir() and not data.is_symlink() and not any(data.iterdir()):
        data.rmdir()
    if not (data.is_symlink() or data.exists()):
        aside.rename(data)


def recover_clear(context: WorkspaceContext, operation: journal.Operation) -> None:
    """A killed ``clear-data``: outputs put back when the store never committed the clear,
    deleted when it did."""
    node_id = operation.intent.get("node")
    aside = operation.intent.get("aside")
    if not isinstance(node_id, str) or not isinstance(aside, str):
        return  # killed before anything moved
    with context.store.read() as session:
        node = session.get_node(node_id)
    cleared = node is None or (node.state is NodeState.READY and node.state_reason == CLEARED)
    if cleared:
        remove_outputs(Path(aside))
    else:
        put_back(context, node_id, Path(aside))
