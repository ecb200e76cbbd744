"""The store's side of the workspace identity (``schema.workspace_identity``): read it, claim
it for a workspace (the first claim wins), record the folder that now opens it.

Only opening a workspace whose identity is not settled yet imports this module: a store that
carries the id its folder carries is read with one query (``Store.identity``).
"""

from __future__ import annotations

import sqlalchemy as sa

from nodepipe.store.schema import nodes, workspace_identity

_ROW = 1


def read_identity(connection: sa.Connection) -> tuple[str, str] | None:
    """The store's workspace id and recorded root, or None while it has none."""
    found = connection.execute(
        sa.select(workspace_identity.c.workspace_id, workspace_identity.c.root).where(
            workspace_identity.c.id == _ROW
        )
    ).first()
    return (found.workspace_id, found.root) if found is not None else None


def claim_identity(connection: sa.Connection, workspace_id: str, root: str) -> tuple[str, str]:
    """Give the store the identity ``workspace_id`` of the folder ``root`` unless it has one
    already; the identity it has after (in a write transaction: of two claims at once, the
    first to commit wins and the second reads it)."""
    held = read_identity(connection)
    if held is not None:
        return held
    connection.execute(
        workspace_identity.insert().values(id=_ROW, workspace_id=workspace_id, root=root)
    )
    return workspace_id, root


def record_root(connection: sa.Connection, workspace_id: str, root: str) -> None:
    """Record ``root`` as the folder of the workspace ``workspace_id`` (it moved)."""
    connection.execute(
        workspace_identity.update()
        .where(workspace_identity.c.id == _ROW, workspace_identity.c.workspace_id == workspace_id)
        .values(root=root)
    )


def node_ids(connection: sa.Connection) -> list[str]:
    """Every node's id: to tell a store whose nodes have their folders in a workspace."""
    return list(connection.execute(sa.select(nodes.c.id)).scalars())
