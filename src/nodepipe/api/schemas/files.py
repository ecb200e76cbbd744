"""What only the web app is answered and sends about a node's files: outputs and code files
listed, a code file's text with its version, and a code file to save."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from nodepipe.api.schemas.common import Input
from nodepipe.domain.node_files import FileKind
from nodepipe.schemas.base import Schema

PART = r"[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]{0,254}"
"""One part of a file name a request may give: not hidden (no leading dot, so never ``.`` or
``..``), no slash, backslash or control character, at most 255 characters."""
CODE_FILE = rf"^{PART}(/{PART}){{0,30}}$"
OUTPUT_FILE = rf"^(data|reports)(/{PART}){{1,30}}$"


class CodeFileSave(Input):
    file: str = Field(
        description="Relative to the node's code/ folder, e.g. main.py.",
        pattern=CODE_FILE,
        max_length=1024,
    )
    text: str
    version: str | None = Field(
        description="The version the text was based on (from the read); null for a new file."
    )
    overwrite: bool = Field(
        default=False, description="Save even if the file changed on disk since it was read."
    )


class CodeFileRename(Input):
    file: str = Field(
        description="The file to rename, relative to code/.", pattern=CODE_FILE, max_length=1024
    )
    to: str = Field(
        description="Its new name relative to code/ (folders made as needed); no file may have it.",
        pattern=CODE_FILE,
        max_length=1024,
    )
    version: str = Field(description="The version read; a file changed on disk since is a 409.")


class FilePublic(Schema):  # reads a FileEntry
    path: str = Field(description="Relative to the node folder (data/…, reports/…) or code/.")
    size: int = Field(description="Bytes.")
    modified: datetime
    kind: FileKind = Field(description="How the app previews it (decided by its name).")


class FileListingPublic(Schema):  # reads a FileListing
    files: list[FilePublic]
    truncated: bool = Field(description="More files than were listed.")


class CodeTextPublic(Schema):  # reads a CodeText
    path: str
    text: str
    version: str = Field(description="Send it back when saving: the SHA-256 of the bytes read.")
    editable: bool = Field(description="False for files nodepipe writes itself (uv.lock).")
