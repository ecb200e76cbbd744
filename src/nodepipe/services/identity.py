"""Workspace identity: a store belongs to one workspace folder.

A workspace's id is kept twice: in its store (the table ``workspace_identity``, with the root of
the folder that last opened it) and in its folder (``.nodepipe/workspace-id``, written
atomically). Opening a workspace whose two ids are equal and whose store records this folder
costs one query (``context.open_context``); anything else comes here, and is settled or refused
before any command reads or changes the store:

- the ids differ: the folder points at another workspace's store (``$NODEPIPE_DB_URL``, a
  hand-edited ``nodepipe.toml``, a backup of another workspace restored): refused, naming both
  folders; nothing is changed in either store.
- the ids are equal and the store records another folder: the workspace was moved (the id
  travels with the folder), so the store records this folder now; unless the recorded folder
  still holds the same id on the same store (the folder was copied, and the copy opened while
  the original is in use): refused, as the copy would show and change the original's nodes.
  A copy with a store of its own (a copied SQLite store inside ``.nodepipe/``) is a workspace of
  its own and records its own folder.
- the store has no identity (a store of an older nodepipe, a store ``doctor --rebuild`` made, a
  backup from before identities): it takes the folder's id (a new one if the folder has none),
  unless it holds nodes none of which has a folder here (another workspace's store);
- the folder has none and the store records this folder: an adoption killed before it wrote
  the folder's file; it is written now.

Adoption claims the store first (one write transaction: of two processes adopting at once, the
first to commit wins and the other takes its id), then writes the folder's file; a kill between
the two leaves the case above, which the next open finishes.
"""

from __future__ import annotations

from pathlib import Path

from nodepipe.domain.errors import Action, Hint, WorkspaceError
from nodepipe.domain.ids import new_id
from nodepipe.store.health import describe_store, sqlite_file
from nodepipe.store.store import Store
from nodepipe.workspace.crash_points import crash_point, pause_point
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.layout import WorkspaceLayout, folder_identity


class StoreOfAnotherWorkspaceError(WorkspaceError):
    """The folder's store belongs to another workspace folder (or to another copy of it)."""


def settle_identity(
    layout: WorkspaceLayout,
    store: Store,
    store_url: str,
    folder_id: str | None,
    recorded: tuple[str, str] | None,
) -> None:
    """Make the folder and its store carry one identity, or refuse (module docstring)."""
    root = str(layout.root)
    if recorded is None:
        _refuse_foreign_nodes(layout, store, store_url)
        pause_point("identity.claiming")  # a test holds two openers here: both claim
        recorded = store.claim_identity(folder_id or new_id(), root)
        crash_point("identity.store-claimed")
    store_id, store_root = recorded
    if folder_id is not None and folder_id != store_id:
        raise _mismatch(layout, store_url, store_root, "belongs to the workspace in")
    if store_root != root and not _same_file(Path(store_root), layout.root):
        if _holds_workspace(Path(store_root), store_id, store_url):
            raise _mismatch(layout, store_url, store_root, "is in use by the workspace in")
        if folder_id is None:
            _refuse_foreign_nodes(layout, store, store_url)
        store.record_root(store_id, root)
    if folder_id is None:
        _write_folder_identity(layout, store_id)


def refuse_store_of_another(layout: WorkspaceLayout, store_url: str) -> None:
    """Refuse (changing nothing) when the store at ``store_url`` opens and carries the id of
    another workspace than the folder's: what replaces that store (``backup restore``) would
    replace another workspace's. A store that does not open is left to the caller."""
    from nodepipe.store.failures import UnusableStoreError

    try:
        store = Store.open(store_url)
    except UnusableStoreError:
        return
    try:
        recorded = store.identity()
    finally:
        store.close()
    folder_id = folder_identity(layout)
    if recorded is not None and folder_id is not None and recorded[0] != folder_id:
        raise _mismatch(layout, store_url, recorded[1], "belongs to the workspace in")


def _write_folder_identity(layout: WorkspaceLayout, workspace_id: str) -> None:
    layout.state_dir.mkdir(exist_ok=True)
    write_atomic(layout.identity_file, workspace_id + "\n")


def _holds_workspace(folder: Path, workspace_id: str, store_url: str) -> bool:
    """Whether ``folder`` is a workspace with the id ``workspace_id`` on the store at
    ``store_url``: the original of a copied folder, still in use. One whose settings cannot be
    read is taken to be on the same store (refusing is the safe side)."""
    from nodepipe.workspace.config import read_config

    other = WorkspaceLayout(folder)
    try:
        if folder_identity(other) != workspace_id:
            return False
    except OSError:
        return False
    try:
        other_url = read_config(other).resolved_store_url(other)
    except (WorkspaceError, OSError):
        return True
    return _same_store(other_url, store_url)


def _same_store(first: str, second: str) -> bool:
    """Whether two store URLs name one store: one SQLite file, or one PostgreSQL database on
    one server (whichever role connects)."""
    first_file, second_file = sqlite_file(first), sqlite_file(second)
    if first_file is not None or second_file is not None:
        return (
            first_file is not None
            and second_file is not None
            and _same_file(first_file, second_file)
        )
    import sqlalchemy as sa  # a PostgreSQL store: SQLAlchemy is needed to talk to it anyway

    one, other = sa.engine.make_url(first), sa.engine.make_url(second)
    return (one.host, one.port, one.database) == (other.host, other.port, other.database)


def _same_file(first: Path, second: Path) -> bool:
    """Whether two paths lead to one file or folder (one reached through a bind mount or a
    link under two names is one workspace, not a copy)."""
    try:
        return first.samefile(second)
    except OSError:
        return first == second


def _refuse_foreign_nodes(layout: WorkspaceLayout, store: Store, store_url: str) -> None:
    """Refuse a store that holds nodes none of which has a folder in this workspace: another
    workspace's store, from before identities."""
    ids = store.node_ids()
    if ids and not any(layout.nodes_dir.joinpath(node_id).is_dir() for node_id in ids):
        raise StoreOfAnotherWorkspaceError(
            f"the store {describe_store(store_url)} holds {len(ids)} nodes and none of them has "
            f"a folder in {layout.nodes_dir}: it is the store of another workspace, and "
            f"{layout.root} cannot use it; nothing was changed",
            hint=Hint(Action.STORE_REPOINT, {"folder": str(layout.root)}),  # owner unknown
        )


def _mismatch(
    layout: WorkspaceLayout, store_url: str, store_root: str, relation: str
) -> StoreOfAnotherWorkspaceError:
    where = describe_store(store_url)
    if _same_file(Path(store_root), layout.root):  # another workspace, once in this folder
        return StoreOfAnotherWorkspaceError(
            f"the store {where} belongs to another workspace, last opened in this folder "
            f"({layout.root}) before the workspace here was made or replaced: this folder "
            "carries another id (.nodepipe/workspace-id); two workspaces on one store would "
            "show and change each other's nodes; nothing was changed",
            hint=Hint(Action.STORE_REPOINT, {"folder": str(layout.root)}),
        )
    return StoreOfAnotherWorkspaceError(
        f"the store {where} {relation} {store_root}, not in {layout.root}: two folders on one "
        "store would show and change each other's nodes; nothing was changed",
        hint=Hint(Action.STORE_REPOINT, {"folder": str(layout.root), "owner": store_root}),
    )
