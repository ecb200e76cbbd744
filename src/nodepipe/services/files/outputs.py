"""A node's outputs as files: ``data/`` (the last promoted outputs) and ``reports/``, listed
with sizes and dates, and one of them opened for reading.

Only promoted outputs are ever read: a run writes into ``<node>/.staging/`` (outside both
folders) and its outputs replace ``data/`` only when it succeeds, so what is listed and served
here is always a whole, good set. Hidden entries (a report being brought home, a file being
written aside) are neither listed nor served.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.node_files import FileListing, OpenedFile, kind_of, media_type_of
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.folder_files import checked_name, listing, open_inside
from nodepipe.workspace.node_folder import NodeFolder

OUTPUT_FOLDERS = ("data", "reports")


@dataclass(frozen=True, slots=True)
class OutputService:
    context: WorkspaceContext

    def _folder(self, name: str, pipeline: str | None) -> NodeFolder:
        with self.context.store.read() as session:
            within = resolver.pipeline(session, pipeline) if pipeline else None
            node = resolver.node(session, name, within)
        return self.context.layout.node_folder(node.id)

    def list(self, name: str, pipeline: str | None = None) -> FileListing:
        """The files of the node's data/ and reports/ (paths start with the folder's name)."""
        folder = self._folder(name, pipeline)
        return listing([(folder.data, "data/"), (folder.reports, "reports/")], lambda _: False)

    def open(self, name: str, path: str, pipeline: str | None = None) -> OpenedFile:
        """The output ``path`` (``data/...`` or ``reports/...``) opened for reading; a path
        elsewhere, through a link leading out, or to something not a file is refused."""
        relative = checked_name(path, "output")
        if len(relative.parts) < 2 or relative.parts[0] not in OUTPUT_FOLDERS:
            raise InvalidInputError(
                f"output {path!r} is not in the node's data/ or reports/ folder"
            )
        folder = self._folder(name, pipeline)
        root = folder.path / relative.parts[0]
        fd, found = open_inside(root, relative.relative_to(relative.parts[0]), "output")
        return OpenedFile(
            handle=os.fdopen(fd, "rb"),
            path=path,
            size=found.st_size,
            modified=datetime.fromtimestamp(found.st_mtime, UTC),
            media_type=media_type_of(path),
            kind=kind_of(path),
        )
