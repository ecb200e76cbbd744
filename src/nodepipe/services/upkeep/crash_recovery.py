"""What a killed nodepipe process left, settled by the next command that opens the workspace.

Two kinds of leftovers: runs whose orchestrating process died (``execution.recovery``: output
swaps rolled forward or back, node runs marked interrupted, orphans killed), and operations of
the workspace journal whose process died (``workspace.journal``): node folders being built or
deleted, environment edits and syncs. Each kind of operation is undone or finished by its own
recoverer; an operation of a kind this version does not know (a newer nodepipe's) is left alone.
"""

from __future__ import annotations

from collections.abc import Callable

from nodepipe.domain.runs import NodeRun
from nodepipe.execution.recovery import recover_interrupted
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace import journal

Recoverer = Callable[[WorkspaceContext, journal.Operation], None]


def recoverers() -> dict[str, Recoverer]:
    """Each kind of journal operation and what settles it. Imported only when an operation was
    abandoned (rarely): the bundle and environment code is not worth loading on every start."""
    from nodepipe.envs.conda import INSTALL_KIND, recover_install
    from nodepipe.envs.edits import EDIT_KIND, recover_edit
    from nodepipe.envs.node_env import SYNC_KIND, recover_sync
    from nodepipe.services.bundles.archives import ARCHIVE_KIND, recover_archive
    from nodepipe.services.bundles.code_swap import SWAP_KIND, recover_code_swaps
    from nodepipe.services.bundles.export_dir import EXPORT_KIND, recover_export
    from nodepipe.services.graph.clearing import CLEAR_KIND, recover_clear
    from nodepipe.services.graph.materialize_undo import MATERIALIZE_KIND, recover_materialize
    from nodepipe.services.graph.staged_folders import (
        DELETE_KIND,
        FOLDERS_KIND,
        recover_node_folders,
    )
    from nodepipe.services.packages.destination import COPY_KIND, recover_copies
    from nodepipe.services.packages.kept import KEEP_KIND, recover_keep

    return {
        FOLDERS_KIND: recover_node_folders,
        DELETE_KIND: recover_node_folders,
        EDIT_KIND: lambda _context, operation: recover_edit(operation),
        SYNC_KIND: lambda _context, operation: recover_sync(operation),
        INSTALL_KIND: lambda _context, operation: recover_install(operation),
        EXPORT_KIND: recover_export,
        SWAP_KIND: recover_code_swaps,
        ARCHIVE_KIND: recover_archive,
        MATERIALIZE_KIND: recover_materialize,
        KEEP_KIND: recover_keep,
        COPY_KIND: lambda _context, operation: recover_copies(operation),
        CLEAR_KIND: recover_clear,
    }


def recover_after_crash(context: WorkspaceContext) -> list[NodeRun]:
    """Settle every abandoned operation, then every run whose orchestrator died; returns the
    node runs marked interrupted."""
    abandoned = list(journal.abandoned(context.layout.staging_dir))
    if abandoned:
        _settle(context, abandoned)
    return recover_interrupted(context.store, context.layout)


def _settle(context: WorkspaceContext, abandoned: list[journal.Operation]) -> None:
    from nodepipe.services.bundles.code_swap import SWAP_KIND
    from nodepipe.services.graph.materialize_undo import MATERIALIZE_KIND

    known = recoverers()
    # code swaps first: they put links back, then folder batches remove libs nothing links;
    # a materialise last: the operations it began inside it are settled before it is undone
    order = {SWAP_KIND: 0, MATERIALIZE_KIND: 2}
    for operation in sorted(abandoned, key=lambda found: order.get(found.kind, 1)):
        recoverer = known.get(operation.kind)
        if recoverer is None and operation.kind:  # a newer nodepipe's: not ours to undo
            operation.release()
            continue
        if recoverer is not None:
            recoverer(context, operation)
        operation.finish()
