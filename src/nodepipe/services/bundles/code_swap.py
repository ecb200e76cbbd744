"""Replacing the code of existing nodes in place, all or nothing (an include's update).

Each node's new ``code/`` is staged first; then, within a journal operation naming every swap
and the moment the store will record (``updated_at``), each node's ``code/`` is moved aside,
the new one moved in, and its environment moved over (a sync follows if its lock changed).
The store commits; the old code goes and each node's record of what its include installed
(``included_code``, named in the intent) is written. If the process dies before the commit,
the next command moves every old ``code/`` (and link) back, the old records staying; after it,
it finishes removing them and writes the records.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nodepipe.services.bundles.included_code import write_record
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.staged_folders import remove_unlinked_libs
from nodepipe.workspace import journal
from nodepipe.workspace.bundle_libs import read_links, write_links
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import fsync_dir
from nodepipe.workspace.node_folder import NodeFolder

SWAP_KIND = "include-update"
"""Journal operations swapping node code: ``swaps``, ``links``, ``include_id``, ``updated_at``,
``records`` (node id → the record of its new code, written once committed)."""


def _previous(folder: NodeFolder, token: str) -> Path:
    return folder.path / f"code.previous-{token}"


@dataclass
class CodeSwaps:
    """Swaps in progress: node id → staged code; links to restore if undone."""

    context: WorkspaceContext
    operation: journal.Operation
    staged: dict[str, Path] = field(default_factory=dict)
    records: dict[str, str] = field(default_factory=dict)
    """Node id → the record (``included_code``) to write beside its code once committed."""
    done: list[str] = field(default_factory=list)

    def swap_all(self, relinks: Mapping[str, Mapping[str, str]]) -> None:
        """Move every staged code folder in; write the new links (``relinks``: node id →
        links) after recording the old ones."""
        token = self.operation.id
        old_links = {}
        for node_id in relinks:
            folder = self.context.layout.node_folder(node_id)
            old_links[node_id] = {link.name: link.lib_id for link in read_links(folder)}
        new_libs = sorted({lib for links in relinks.values() for lib in links.values()})
        self.operation.record(
            swaps=sorted(self.staged), links=old_links, libs=new_libs, records=self.records
        )
        crash_point("update.swaps-recorded")
        for node_id, staged in self.staged.items():
            folder = self.context.layout.node_folder(node_id)
            previous = _previous(folder, token)
            folder.code.rename(previous)
            staged.rename(folder.code)
            if (previous / ".venv").exists() or (previous / ".venv").is_symlink():
                (previous / ".venv").rename(folder.code / ".venv")
            fsync_dir(folder.path)
            self.done.append(node_id)
            crash_point("update.swapped-one")
        for node_id, links in relinks.items():
            write_links(self.context.layout.node_folder(node_id), links)

    def finish(self) -> None:
        """After the commit: the old code goes; the records of the new are written."""
        for node_id in self.done:
            folder = self.context.layout.node_folder(node_id)
            shutil.rmtree(_previous(folder, self.operation.id), ignore_errors=True)
        _write_records(self.context, self.operation)


@contextmanager
def code_swaps(
    context: WorkspaceContext, include_id: str, updated_at: datetime
) -> Iterator[CodeSwaps]:
    """Swaps for one update; the block commits the store (writing ``updated_at`` on the
    include row); a failure inside the block puts everything back."""
    with journal.operation(
        context.layout.staging_dir,
        SWAP_KIND,
        include_id=include_id,
        updated_at=updated_at.isoformat(),
    ) as operation:
        swaps = CodeSwaps(context, operation)
        try:
            yield swaps
        except BaseException:
            _undo(context, operation)
            raise
        crash_point("update.committed")
        swaps.finish()


def _undo(context: WorkspaceContext, operation: journal.Operation) -> None:
    swaps = operation.intent.get("swaps", [])
    for node_id in swaps if isinstance(swaps, list) else []:
        folder = context.layout.node_folder(str(node_id))
        previous = _previous(folder, operation.id)
        if not previous.is_dir():
            continue
        if folder.code.is_dir():
            venv = folder.code / ".venv"
            if (venv.exists() or venv.is_symlink()) and not (previous / ".venv").exists():
                venv.rename(previous / ".venv")
            shutil.rmtree(folder.code)
        previous.rename(folder.code)
    links = operation.intent.get("links", {})
    for node_id, old in links.items() if isinstance(links, dict) else []:
        if isinstance(old, dict):
            write_links(context.layout.node_folder(str(node_id)), old)
    remove_unlinked_libs(context, _named_libs(operation, "libs"))


def _named_libs(operation: journal.Operation, key: str) -> list[str]:
    """Lib ids the intent names: the new libs (``libs``) or the old ones (``links``)."""
    value = operation.intent.get(key, [])
    if isinstance(value, dict):
        return [
            str(i) for links in value.values() if isinstance(links, dict) for i in links.values()
        ]
    return [str(i) for i in value] if isinstance(value, list) else []


def recover_code_swaps(context: WorkspaceContext, operation: journal.Operation) -> None:
    """Finish an update whose store commit happened; undo one whose commit never did."""
    include_id = operation.intent.get("include_id")
    with context.store.read() as session:
        row = session.get_include(str(include_id)) if include_id else None
    committed = row is not None and row.updated_at.isoformat() == operation.intent.get("updated_at")
    if not committed:
        _undo(context, operation)
        return
    swaps = operation.intent.get("swaps", [])
    for node_id in swaps if isinstance(swaps, list) else []:
        folder = context.layout.node_folder(str(node_id))
        shutil.rmtree(_previous(folder, operation.id), ignore_errors=True)
    _write_records(context, operation)
    remove_unlinked_libs(context, _named_libs(operation, "links"))


def _write_records(context: WorkspaceContext, operation: journal.Operation) -> None:
    """The records the intent names, beside each node's code (a node deleted since: none)."""
    records = operation.intent.get("records", {})
    for node_id, text in records.items() if isinstance(records, dict) else []:
        folder = context.layout.node_folder(str(node_id))
        if folder.code.is_dir() and isinstance(text, str):
            write_record(folder, text)
