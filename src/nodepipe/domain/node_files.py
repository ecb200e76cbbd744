"""Files of a node folder as the app shows them: what each is (by its name), listed entries,
an output opened for reading, a code file's text and version.

``kind_of`` decides once, from the file name alone, how a file is previewed and with which
media type it is served; nothing is ever served as HTML but an ``.html`` report (and that one
only with a sandboxing Content-Security-Policy, see ``nodepipe.api.routes.outputs``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import BinaryIO


class FileKind(StrEnum):
    """How a file is previewed: the app picks its viewer from this."""

    IMAGE = "image"
    SVG = "svg"
    CSV = "csv"
    PARQUET = "parquet"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"
    TEXT = "text"
    BINARY = "binary"


_BY_SUFFIX: dict[str, tuple[FileKind, str]] = {
    ".png": (FileKind.IMAGE, "image/png"),
    ".jpg": (FileKind.IMAGE, "image/jpeg"),
    ".jpeg": (FileKind.IMAGE, "image/jpeg"),
    ".gif": (FileKind.IMAGE, "image/gif"),
    ".webp": (FileKind.IMAGE, "image/webp"),
    ".svg": (FileKind.SVG, "image/svg+xml"),
    ".csv": (FileKind.CSV, "text/csv; charset=utf-8"),
    ".tsv": (FileKind.CSV, "text/tab-separated-values; charset=utf-8"),
    ".parquet": (FileKind.PARQUET, "application/vnd.apache.parquet"),
    ".json": (FileKind.JSON, "application/json"),
    ".geojson": (FileKind.JSON, "application/json"),
    ".md": (FileKind.MARKDOWN, "text/markdown; charset=utf-8"),
    ".markdown": (FileKind.MARKDOWN, "text/markdown; charset=utf-8"),
    ".html": (FileKind.HTML, "text/html; charset=utf-8"),
    ".htm": (FileKind.HTML, "text/html; charset=utf-8"),
}
TEXT_SUFFIXES = frozenset(
    {".txt", ".log", ".py", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".r", ".m", ".sh"}
    | {".jl", ".sql", ".xml", ".tex", ".rst", ".ipynb", ".lock", ".dat", ".out", ".err"}
)
_TEXT_MEDIA = "text/plain; charset=utf-8"
_BINARY_MEDIA = "application/octet-stream"


def kind_of(name: str) -> FileKind:
    """How the file named ``name`` is previewed (by its suffix; anything unknown is binary)."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix][0]
    return FileKind.TEXT if suffix in TEXT_SUFFIXES else FileKind.BINARY


def media_type_of(name: str) -> str:
    """The media type the file named ``name`` is served with."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix][1]
    return _TEXT_MEDIA if suffix in TEXT_SUFFIXES else _BINARY_MEDIA


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a node folder: its ``/``-relative path (from the node folder, so
    ``data/smooth.csv``), size in bytes, last change, and kind."""

    path: str
    size: int
    modified: datetime
    kind: FileKind


@dataclass(frozen=True, slots=True)
class FileListing:
    """The files of a node's folders; ``truncated`` when there were more than were listed."""

    files: tuple[FileEntry, ...]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class OpenedFile:
    """An output opened for reading (the caller closes ``handle``), with what was true of it
    when it was opened: size, last change, media type."""

    handle: BinaryIO
    path: str
    size: int
    modified: datetime
    media_type: str
    kind: FileKind


@dataclass(frozen=True, slots=True)
class CodeText:
    """A code file's text and its version: the digest of its bytes, which a save sends back so
    that a file changed on disk meanwhile is not overwritten unnoticed."""

    path: str
    text: str
    version: str
    editable: bool
    """False for files nodepipe writes itself (uv.lock) and for nodes that are read-only."""


def version_of(content: bytes) -> str:
    """The version a save must name: the SHA-256 of the file's bytes."""
    return hashlib.sha256(content).hexdigest()


def params_version(text: str) -> str:
    """The version of the parameters whose params.yaml reads ``text`` (the text a node's
    details give, ``params_text``): a save of the parameters based on it names it."""
    return version_of(text.encode("utf-8"))
