"""The mark of a ``doctor --rebuild`` under way: ``.nodepipe/rebuilding`` (``rebuild_mark``).

A rebuild makes a new, empty store, then gives it every node folder in one transaction (the
adoption). Killed between the two, it left a store that opens and holds nothing, and every
other command opened it as if the workspace were empty (a ``status`` of no pipeline; the web
app's empty canvas). So the rebuild writes this mark before it makes the new store, and the
adoption removes it once it has committed (``doctor --repair``'s adoption too); while it is
there, opening the workspace is refused, naming ``doctor --rebuild`` (``open_context``: one
stat, the only cost to every command). ``backup restore`` replaces the store whole, so it
removes the mark too.
"""

from __future__ import annotations

import os

from nodepipe.workspace.durable import fsync_dir, write_atomic
from nodepipe.workspace.layout import WorkspaceLayout


def mark_rebuild(layout: WorkspaceLayout) -> None:
    """Write the mark, durably, before the new store is made."""
    write_atomic(
        layout.rebuild_mark,
        "a `nodepipe doctor --rebuild` is under way, or was cut short: the store does not hold "
        "the node folders yet; `nodepipe doctor --rebuild` finishes it\n",
    )


def clear_rebuild_mark(layout: WorkspaceLayout) -> None:
    """Remove the mark (none: nothing to do), durably: the store holds the workspace again."""
    if os.path.lexists(layout.rebuild_mark):
        layout.rebuild_mark.unlink(missing_ok=True)
        fsync_dir(layout.state_dir)
