"""Files inside one folder of a node, named by requests: listed, opened and replaced without
ever reaching outside that folder.

A name from a request is checked before anything is opened (``checked_name``): relative, no
``..``, no empty or control-character parts, no hidden part (``.staging``, write-aside
temporaries and incoming reports are nodepipe's own, half-made files), a sane length. Then the
path is resolved (every link followed) and must still lie inside the folder, itself resolved:
a link that stays inside is followed, one that leads outside is refused. The file is opened
with ``O_NOFOLLOW`` and must be a regular file (never a FIFO or a device that would block).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from nodepipe.domain.errors import InvalidInputError, NotFoundError
from nodepipe.domain.node_files import FileEntry, FileListing, kind_of

MAX_LISTED = 2_000
"""Files listed per request: a folder with more says so (``truncated``)."""
MAX_NAME = 1_024
MAX_PART_BYTES = 255
"""The longest name of one file or folder Linux file systems take (NAME_MAX), in bytes."""


def checked_name(relative: str, what: str) -> PurePosixPath:
    """``relative`` as a path of parts, if it names something inside a folder; else refused."""
    if not isinstance(relative, str):
        raise InvalidInputError(f"a {what} is named by text, like 'main.py', not {relative!r:.80}")
    if not relative or len(relative) > MAX_NAME or "\\" in relative:
        raise InvalidInputError(f"{what} {relative[:80]!r} is not a file name nodepipe accepts")
    if any(ord(c) < 32 or ord(c) == 127 for c in relative):
        raise InvalidInputError(f"{what} {relative[:80]!r} holds a control character")
    path = PurePosixPath(relative)
    if path.is_absolute() or relative.startswith("/"):
        raise InvalidInputError(f"{what} {relative!r} is absolute; name a path inside the folder")
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidInputError(f"{what} {relative!r} is not a plain path inside the folder")
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_PART_BYTES for part in parts):
        raise InvalidInputError(
            f"{what} {relative[:80]!r} has a part longer than {MAX_PART_BYTES} bytes, more "
            "than a file system takes"
        )
    if any(part.startswith(".") for part in parts):
        raise NotFoundError(f"no {what} {relative!r} (hidden files are not shown)")
    return path


def inside(root: Path, relative: PurePosixPath, what: str) -> Path:
    """``root / relative`` with every link resolved, if that lies strictly inside ``root``."""
    real_root = root.resolve()
    try:
        resolved = (root / relative).resolve()
    except (OSError, RuntimeError) as exc:  # a link loop
        raise NotFoundError(f"no {what} {str(relative)!r}: {exc}") from exc
    if resolved == real_root or not resolved.is_relative_to(real_root):
        raise InvalidInputError(f"{what} {str(relative)!r} leads outside its folder")
    return resolved


def open_inside(root: Path, relative: PurePosixPath, what: str) -> tuple[int, os.stat_result]:
    """A read-only descriptor of the regular file ``relative`` names inside ``root``, and its
    stat taken through that descriptor (what is read is what was checked)."""
    resolved = inside(root, relative, what)
    try:
        fd = os.open(resolved, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise NotFoundError(f"no {what} {str(relative)!r}") from exc
    except OSError as exc:
        raise InvalidInputError(f"{what} {str(relative)!r} cannot be read: {exc}") from exc
    found = os.fstat(fd)
    if not stat.S_ISREG(found.st_mode):
        os.close(fd)
        raise NotFoundError(f"no {what} {str(relative)!r} (it is not a file)")
    os.set_blocking(fd, True)
    return fd, found


def list_files(
    root: Path, prefix: str, budget: int, skip: Callable[[str], bool] = lambda _: False
) -> tuple[list[FileEntry], bool]:
    """The regular files under ``root`` (hidden ones and ``skip``ped ones left out; links
    followed only where they stay inside ``root``), as paths starting with ``prefix``; at most
    ``budget`` of them, and whether there were more."""
    found: list[FileEntry] = []
    real_root = root.resolve()
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _link(folder, d))
        for name in sorted(files):
            relative = Path(folder, name).relative_to(root).as_posix()
            if name.startswith(".") or skip(relative):
                continue
            entry = _entry(Path(folder, name), real_root, prefix + relative)
            if entry is None:
                continue
            if len(found) == budget:
                return found, True
            found.append(entry)
    return found, False


def listing(folders: list[tuple[Path, str]], skip: Callable[[str], bool]) -> FileListing:
    """The files of several folders, each listed under its prefix, up to ``MAX_LISTED``."""
    entries: list[FileEntry] = []
    truncated = False
    for root, prefix in folders:
        more, cut = list_files(root, prefix, MAX_LISTED - len(entries), skip)
        entries += more
        truncated = truncated or cut
    return FileListing(tuple(entries), truncated)


def _link(folder: str, name: str) -> bool:
    return Path(folder, name).is_symlink()


def _entry(path: Path, real_root: Path, shown: str) -> FileEntry | None:
    try:
        if path.is_symlink() and not path.resolve().is_relative_to(real_root):
            return None
        found = path.stat()
    except OSError:  # removed while listed, or a dangling link
        return None
    if not stat.S_ISREG(found.st_mode):
        return None
    modified = datetime.fromtimestamp(found.st_mtime, UTC)
    return FileEntry(shown, found.st_size, modified, kind_of(shown))
