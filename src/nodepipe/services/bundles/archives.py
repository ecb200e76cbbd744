"""Bundles as zip files, for surfaces that move bytes rather than folders (the web app).

``export_archive`` exports a pipeline with ``ws.bundles.export`` into a scratch folder
(``portable``: local includes inlined, since a zip travels without its neighbours), packs
it (``bundles.archive.pack_bundle``: the same bundle, the same bytes) into an anonymous
temporary file and removes the folder: the caller streams the file and closes it.

``stage_archive`` unpacks a zip from anyone (``unpack_bundle``: every member checked first)
into a scratch folder, for ``ws.bundles.import_`` to read; the caller ``discard``s it when the
import is over, whatever its outcome. Both scratch folders are workspace journal operations of
kind ``ARCHIVE_KIND`` under ``.nodepipe/staging``: they hold nothing outside their own folder,
so if the process dies the next command that opens the workspace just removes them. A refused
archive leaves nothing behind.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nodepipe.bundles.archive import ArchiveLimits, pack_bundle, unpack_bundle
from nodepipe.services.bundles.service import BundleService
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace import journal
from nodepipe.workspace.crash_points import crash_point

ARCHIVE_KIND = "bundle-archive"
"""Journal operations whose scratch folder holds a bundle being packed or unpacked."""
BUNDLE_FOLDER = "bundle"


def export_archive(
    context: WorkspaceContext, pipeline: str, with_data: bool = False
) -> tuple[str, BinaryIO]:
    """The bundle name of ``pipeline`` and its export as a zip, in a temporary file at its
    start (anonymous: gone when closed or when the process dies)."""
    staging = context.layout.staging_dir
    with journal.operation(staging, ARCHIVE_KIND) as operation:
        folder = operation.folder / BUNDLE_FOLDER
        result = BundleService(context).export(pipeline, folder, with_data, portable=True)
        crash_point("archive.exported")
        packed = tempfile.TemporaryFile(dir=staging)  # noqa: SIM115 (returned open)
        try:
            pack_bundle(folder, packed)
            packed.seek(0)
        except BaseException:
            packed.close()
            raise
    return result.pipeline, packed


@dataclass(slots=True)
class StagedBundle:
    """An uploaded bundle unpacked in the workspace's staging, until ``discard``."""

    directory: Path
    _operation: journal.Operation

    def discard(self) -> None:
        """Remove the unpacked bundle (idempotent)."""
        self._operation.finish()


def stage_archive(
    context: WorkspaceContext, archive: BinaryIO, limits: ArchiveLimits = ArchiveLimits()
) -> StagedBundle:
    """Unpack the zip ``archive`` into a new scratch folder; BundleError (nothing left) if it is
    not a safe zip of a bundle."""
    operation = journal.begin(context.layout.staging_dir, ARCHIVE_KIND)
    try:
        directory = unpack_bundle(archive, operation.folder / BUNDLE_FOLDER, limits)
        crash_point("archive.unpacked")
    except BaseException:
        operation.finish()
        raise
    return StagedBundle(directory, operation)


def recover_archive(_context: WorkspaceContext, _operation: journal.Operation) -> None:
    """Nothing to undo: finishing the operation removes its scratch folder."""
