"""Whether an existing store can be used, and how to name it in a message.

A workspace's store is made only by ``nodepipe init`` (or ``doctor --rebuild``); opening a
workspace never makes one. Before an SQLite store is opened its file is looked at: it must
exist, be non-empty, start with SQLite's header and be as long as the header says (a truncated
file is shorter), unless its write-ahead log holds pages: a checkpoint cut short (a kill, a
power cut) leaves the first page, whose header declares the grown size, written before the
pages that grow the file, which SQLite then reads from the log. Damage deeper in the file shows
when a page is read (``store.failures``). A PostgreSQL server must answer. Either way the
database must hold nodepipe's tables.

The first look opens the file, but never while a ``Store`` of this process holds it
(``held``/``released``): closing any descriptor of a file drops every POSIX lock the process
holds on it, SQLite's included, and SQLite (counting its locks per process) would not take them
again. A writer in another process, closing its last connection, would then find the file
unlocked, checkpoint and delete the WAL under this process's readers: "database disk image is
malformed". A held file is looked at only by SQLite, whose reads report damage.
"""

from __future__ import annotations

import enum
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Final

SQLITE_HEADER = b"SQLite format 3\x00"
_HEADER_SIZE = 100
_WAL_HEADER_SIZE = 32
_PLAIN_SQLITE_URL = re.compile(r"sqlite(?:\+pysqlite)?:///(?P<path>[^?#%]+)")
"""An SQLite URL whose file needs no decoding (the common case, read without SQLAlchemy)."""
_FileId = tuple[int, int]
_held: Counter[_FileId] = Counter()
"""The SQLite files (device, inode) a ``Store`` of this process has open, and how many."""
_held_lock = threading.Lock()


class ProblemKind(enum.StrEnum):
    """Why a store cannot be used; all but ``unreachable`` are cured by a rebuild."""

    MISSING = "missing"
    DAMAGED = "damaged"
    NO_TABLES = "no-tables"
    UNREACHABLE = "unreachable"


class StoreProblem:
    """What is wrong with the store's database file, and where.

    A plain class: nothing compares it, and a dataclass costs every command's start about
    0.6 ms to make (its generated methods are compiled when the module is imported)."""

    __slots__ = ("detail", "kind")

    def __init__(self, kind: ProblemKind, detail: str) -> None:
        self.kind: Final = kind
        self.detail: Final = detail
        """Completes "the store <where> …": ``is missing``, ``is truncated (…)``."""


def sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not url.startswith("sqlite"):
        return None
    plain = _PLAIN_SQLITE_URL.fullmatch(url)
    if plain is not None:
        return Path(plain["path"])
    import sqlalchemy as sa  # a URL with a query or escapes: SQLAlchemy's reading decides

    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def describe_store(url: str) -> str:
    """The store as a message names it: its file, or PostgreSQL host, port and database (never
    the password)."""
    path = sqlite_file(url)
    if path is not None:
        return str(path)
    import sqlalchemy as sa  # a PostgreSQL store: SQLAlchemy is needed to talk to it anyway

    parsed = sa.engine.make_url(url)
    user = f"{parsed.username}@" if parsed.username else ""
    return f"{user}{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def held(path: Path) -> _FileId | None:
    """Note that a ``Store`` of this process has the SQLite file at ``path`` open (until
    ``released`` with what this returns; None: there is no such file)."""
    try:
        info = path.stat()
    except OSError:
        return None
    key = (info.st_dev, info.st_ino)
    with _held_lock:
        _held[key] += 1
    return key


def released(key: _FileId | None) -> None:
    """The ``Store`` that called ``held`` is closed."""
    if key is not None:
        with _held_lock:
            _held[key] -= 1
            if _held[key] <= 0:
                del _held[key]


def sqlite_file_problem(path: Path) -> StoreProblem | None:
    """What is wrong with the SQLite file at ``path`` at first sight, or None (also when a
    ``Store`` of this process holds it: opening it then would drop SQLite's locks)."""
    try:
        info = path.stat()
        size = info.st_size
        with _held_lock:
            if size and (info.st_dev, info.st_ino) in _held:
                return None
        with path.open("rb") as handle:
            header = handle.read(_HEADER_SIZE)
    except FileNotFoundError:
        return StoreProblem(ProblemKind.MISSING, "is missing")
    except OSError as error:
        return StoreProblem(ProblemKind.DAMAGED, f"cannot be read ({error.strerror})")
    if size == 0:
        return StoreProblem(ProblemKind.DAMAGED, "is empty (0 bytes)")
    if len(header) < _HEADER_SIZE or not header.startswith(SQLITE_HEADER):
        return StoreProblem(
            ProblemKind.DAMAGED, "is not an SQLite database (its header is damaged)"
        )
    expected = _declared_size(header)
    if expected is not None and size < expected and not _log_holds_pages(path):
        return StoreProblem(
            ProblemKind.DAMAGED, f"is truncated ({size} bytes; its header says {expected})"
        )
    return None


def _log_holds_pages(path: Path) -> bool:
    """Whether the write-ahead log beside the SQLite file ``path`` holds pages."""
    try:
        return (path.parent / f"{path.name}-wal").stat().st_size > _WAL_HEADER_SIZE
    except OSError:
        return False


def _declared_size(header: bytes) -> int | None:
    """The file size the header declares, when the header says it is valid."""
    page_size = int.from_bytes(header[16:18], "big")
    change_counter = int.from_bytes(header[24:28], "big")
    pages = int.from_bytes(header[28:32], "big")
    valid_for = int.from_bytes(header[92:96], "big")
    if pages == 0 or change_counter != valid_for:
        return None
    return (65536 if page_size == 1 else page_size) * pages
