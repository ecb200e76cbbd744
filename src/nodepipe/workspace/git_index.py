"""Which paths a git checkout tracks, read from its index (``.git/index``) without running git.

A ``.gitignore`` pattern never hides a file git tracks: ``git status`` reports an edit of a
tracked ``settings.py`` that a later ``settings.py`` pattern matches. The walk of external code
(``code_trees``) asks here before it leaves out an ignored path, so such a file stays in the
fingerprint. The index is parsed by hand (versions 2 to 4, SHA-1 or SHA-256 object names); an
index this module cannot read whole (a split index, an unknown version) is listed by
``git ls-files`` instead, and with no git either, nothing counts as tracked (the patterns
alone decide, as before). The folder walked may be a checkout's work tree or a folder inside one
(a package of a larger repository): the index is the repository's, found above it, and only
what it tracks under the folder counts. Answers are kept per process and folder, keyed by the
index file's stat.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import NamedTuple

from nodepipe.workspace.regular_files import read_regular_bytes

_ENTRY_FIXED = 40  # ctime, mtime, dev, ino, mode, uid, gid, size: ten 32-bit fields
_EXTENDED = 0x4000
_NAME_LENGTH = 0x0FFF
_SPLIT_INDEX = b"link"


class Tracked(NamedTuple):
    """The tracked files of a checkout, and every folder that holds one (``/``-relative)."""

    files: frozenset[str]
    folders: frozenset[str]

    def holds(self, relative: str, is_dir: bool) -> bool:
        return relative in (self.folders if is_dir else self.files)


NOTHING = Tracked(frozenset(), frozenset())
_kept: dict[str, tuple[tuple[int, int, int], Tracked]] = {}


def tracked(root: Path) -> Tracked:
    """What git tracks under ``root``, ``/``-relative to it: ``root`` is a checkout's work
    tree or a folder inside one (a package of a larger repository, ``repo/packages/mytool``);
    nothing if it lies in none."""
    top = _work_tree(root)
    git_dir = None if top is None else _git_dir(top)
    if top is None or git_dir is None:
        return NOTHING
    index = git_dir / "index"
    try:
        found = index.stat()
    except OSError:
        return NOTHING
    key = (found.st_ino, found.st_size, found.st_mtime_ns)
    kept = _kept.get(str(root))
    if kept is not None and kept[0] == key:
        return kept[1]
    paths = _read_index(index, _hash_size(git_dir))
    if paths is None:
        paths = _ls_files(root)  # relative to root already
    elif top != root:
        inside = root.relative_to(top).as_posix() + "/"
        paths = [path[len(inside) :] for path in paths if path.startswith(inside)]
    answer = _with_folders(paths)
    _kept[str(root)] = (key, answer)
    return answer


def _work_tree(root: Path) -> Path | None:
    """The work tree ``root`` lies in: the nearest of ``root`` and the folders above it that
    holds a ``.git`` (a folder, or a file naming one); None when none does."""
    for folder in (root, *root.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return None


def _git_dir(root: Path) -> Path | None:
    """``root/.git``, or the folder a ``.git`` file names (a worktree, a submodule)."""
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git
    try:
        text = read_regular_bytes(dot_git).decode("utf-8", errors="replace")
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    named = Path(text.removeprefix("gitdir:").strip())
    return named if named.is_absolute() else root / named


def _hash_size(git_dir: Path) -> int:
    try:
        config = read_regular_bytes(git_dir / "config").decode("utf-8", errors="replace")
    except OSError:
        return 20
    squeezed = "".join(config.split()).lower()
    return 32 if "objectformat=sha256" in squeezed else 20


def _read_index(index: Path, hash_size: int) -> list[str] | None:
    """The paths of the index's entries, or None when it cannot be read whole here."""
    try:
        data = read_regular_bytes(index)
    except OSError:
        return None
    if len(data) < 12 or data[:4] != b"DIRC":
        return None
    version, count = struct.unpack(">II", data[4:12])
    if version not in (2, 3, 4):
        return None
    try:
        paths, end = _entries(data, version, count, hash_size)
    except (IndexError, struct.error, UnicodeDecodeError, ValueError):
        return None
    if _SPLIT_INDEX in _extension_names(data, end, hash_size):
        return None  # the entries here are only the changes to a shared index
    return paths


def _entries(data: bytes, version: int, count: int, hash_size: int) -> tuple[list[str], int]:
    paths: list[str] = []
    offset = 12
    previous = b""
    for _ in range(count):
        start = offset
        offset += _ENTRY_FIXED + hash_size
        (flags,) = struct.unpack(">H", data[offset : offset + 2])
        offset += 2
        if version >= 3 and flags & _EXTENDED:
            offset += 2
        if version == 4:
            dropped, offset = _varint(data, offset)
            end = data.index(b"\0", offset)
            name = previous[: len(previous) - dropped] + data[offset:end]
            offset = end + 1
        else:
            end = data.index(b"\0", offset)
            name = data[offset:end]
            offset = start + ((end - start) // 8 + 1) * 8  # 1 to 8 NULs pad each entry
        previous = name
        paths.append(name.decode("utf-8", errors="surrogateescape"))
    return paths, offset


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    """Git's offset encoding of a v4 index (each continuation adds one before shifting)."""
    byte = data[offset]
    offset += 1
    value = byte & 0x7F
    while byte & 0x80:
        byte = data[offset]
        offset += 1
        value = ((value + 1) << 7) | (byte & 0x7F)
    return value, offset


def _extension_names(data: bytes, offset: int, hash_size: int) -> set[bytes]:
    names: set[bytes] = set()
    while offset + 8 <= len(data) - hash_size:
        name = data[offset : offset + 4]
        (size,) = struct.unpack(">I", data[offset + 4 : offset + 8])
        names.add(name)
        offset += 8 + size
    return names


def _ls_files(root: Path) -> list[str]:
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        return []
    try:
        listed = subprocess.run(
            [git, "-C", str(root), "ls-files", "-z"],
            capture_output=True,
            check=False,
            timeout=60,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if listed.returncode != 0:
        return []
    return [p.decode("utf-8", "surrogateescape") for p in listed.stdout.split(b"\0") if p]


def _with_folders(paths: list[str]) -> Tracked:
    folders: set[str] = set()
    for path in paths:
        cut = path.rfind("/")
        while cut > 0:
            folder = path[:cut]
            if folder in folders:
                break
            folders.add(folder)
            cut = path.rfind("/", 0, cut)
    return Tracked(frozenset(paths), frozenset(folders))
