"""Edits made to a materialised node since its last materialise, kept before a materialise
replaces them.

A materialise makes a node what its definition says: it rewrites ``main.py``, ``params.yaml``
and the environment files. Someone may have changed them since (by hand in an editor, or with
``ws.nodes.set_params``, ``ws.envs.add``...). Such a node is told apart by the digest the last
materialise recorded of the files it left (``workspace.materialized_record``); when the
materialise then changes those files, their edited contents (as saved for the undo log) are
first copied to ``<node>/undone-edits/materialize.<8 hex>/`` and a ``UserWarning`` names the node,
the files and the copy. Nothing typed into a node is lost by running its definition again.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
from collections.abc import Iterable
from pathlib import Path

from nodepipe.domain.model import Node
from nodepipe.envs.edits import undone_edits_folder
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.materialize_undo import SAVED_FILES, UndoLog
from nodepipe.workspace.durable import fsync_dir, sync_filesystem
from nodepipe.workspace.materialized_record import materialized_files

EDITABLE = ("main.py", "params.yaml", "pyproject.toml", ".python-version")
"""The files a person or a call edits; the locks follow from them and are not compared."""
_STACK = 5
"""The user's ``ws.materialize`` call, seen from ``keep_replaced``, for the warning's line."""


def files_digest(code: Path, names: Iterable[str] = EDITABLE) -> str:
    """A digest of the files ``names`` in ``code`` (an absent one counts as empty)."""
    digest = hashlib.sha256()
    for name in names:
        path = code / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b""))
    return digest.hexdigest()


def edited_since(context: WorkspaceContext, nodes: Iterable[Node]) -> dict[str, str]:
    """Node id → the digest of its files now, for each of ``nodes`` whose files are not the
    ones its last materialise left (or whose record is older than the digest)."""
    edited = {}
    for node in nodes:
        folder = context.layout.node_folder(node.id)
        now = files_digest(folder.code)
        if materialized_files(folder.path, node.id) != now:
            edited[node.id] = now
    return edited


def keep_replaced(
    context: WorkspaceContext, log: UndoLog, edited: dict[str, str], tags: dict[str, str]
) -> None:
    """Copy the saved files of each ``edited`` node the materialise changed to its
    ``undone-edits/`` (undone with the rest), and warn; ``tags``: node id → tag."""
    for node_id, digest in edited.items():
        folder = context.layout.node_folder(node_id)
        saved = log.saved_folder(node_id)
        changed = [name for name in SAVED_FILES if _read(saved / name) != _read(folder.code / name)]
        if not changed:
            continue
        place = undone_edits_folder(folder.code)
        label = f"materialize.{digest[:8]}"
        target = place / label if place is not None else folder.path / f"undone-{label}"
        if not target.is_dir():  # the same edits kept before: kept once
            log.add({"step": "kept", "kept": str(target)})
            building = log.operation.folder / "kept" / node_id
            building.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(saved, building) if saved.is_dir() else building.mkdir()
            sync_filesystem(building)
            building.rename(target)
            fsync_dir(target.parent)
        warnings.warn(
            f"materialize replaced what was edited in node {tags[node_id]!r} since it was last "
            f"materialised ({', '.join(changed)}); the edited files are kept in {target}",
            UserWarning,
            stacklevel=_STACK,
        )


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
