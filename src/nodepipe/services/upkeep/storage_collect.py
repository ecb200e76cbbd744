"""`nodepipe doctor --storage`: what an object storage holds that this workspace no longer
names, and collecting it.

Kept are the contents the store names (every output digest, current or of a past run, and
every recorded code manifest), the outputs every run record names (``execution.shared_outputs``:
what any workspace shared), and everything those manifests name. The rest is unreferenced:
outputs of runs whose record is gone, code of nodes since changed, uploads a killed process cut
short (``incoming/``). Only what is older than ``grace`` seconds is collected, so a run that is
uploading right now loses nothing; collecting also drops refusals' notes about contents no
longer there. Outputs another workspace ran remotely without sharing them
are not named here: collect a storage shared by several workspaces from one whose store names
what is worth keeping (README: "Running on a cluster").

Damaged contents are listed (those a read refused, and left a note about, that no upload has
replaced since), never moved: the next upload of such a content replaces it in place
(``workspace.storage``), while moving it aside in a bucket (a copy, then a delete) could delete
a good copy another process uploads meanwhile; finding every damaged content would mean
downloading the whole storage.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from nodepipe.domain.errors import InvalidInputError
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.storage import Storage
from nodepipe.workspace.storage_trees import contents_named

DEFAULT_GRACE_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class StorageReport:
    """What a storage holds for this workspace, and what was (or would be) collected."""

    url: str
    contents: int
    referenced: int
    unreferenced: tuple[str, ...]
    uploads_cut_short: tuple[str, ...]
    too_recent: int
    """Unreferenced contents and uploads younger than the grace period: left alone."""
    collected: bool
    damaged: tuple[str, ...] = ()
    """Contents a read refused (they do not hash to their names) and that are still there:
    the next upload of each replaces it (running again the node that made it)."""


def examine_storage(
    context: WorkspaceContext,
    url: str | None,
    collect: bool = False,
    grace: float = DEFAULT_GRACE_SECONDS,
) -> StorageReport:
    """Survey the storage at ``url`` (None: ``[storage] url``); with ``collect``, remove the
    unreferenced contents and cut-short uploads older than ``grace`` seconds."""
    storage = _storage(context, url)
    with context.store.read() as session:
        roots = session.recorded_digests()
    roots |= shared_outputs(storage)
    present = set(storage.digests())
    referenced = roots & present
    for root in sorted(referenced):
        referenced |= contents_named(storage, root) & present
    unreferenced = present - referenced
    old = sorted(d for d in unreferenced if storage.age(storage.object_path(d)) >= grace)
    uploads = sorted(p for p in storage.incoming() if storage.age(p) >= grace)
    too_recent = len(unreferenced) - len(old) + len(storage.incoming()) - len(uploads)
    refused = storage.refused()
    if collect:
        for path in uploads:
            storage.remove_incoming(path)
        for digest in old:
            storage.remove(digest)  # and any refusal's note about it
        for digest in refused - present:  # notes about contents removed by hand
            storage.forget_refusal(digest)
    still_there = present - set(old) if collect else present
    damaged = refused & still_there
    return StorageReport(
        storage.url,
        len(present),
        len(referenced),
        tuple(old),
        tuple(uploads),
        too_recent,
        collect,
        tuple(sorted(damaged)),
    )


def shared_outputs(storage: Storage) -> set[str]:
    """The output digests the storage's run records name."""
    found = set()
    for raw in storage.records():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            found.add(str(json.loads(raw)["outputs"]))
    return found


def _storage(context: WorkspaceContext, url: str | None) -> Storage:
    chosen = url or context.config.storage_url
    if not chosen:
        raise InvalidInputError(
            'no storage to examine: pass --storage URL or set [storage] url = "…" in nodepipe.toml'
        )
    return Storage.open(chosen, base=context.layout.root)
