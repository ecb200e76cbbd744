"""Read access to one bundle's files: a local folder, or any fsspec location.

Both implement ``model.BundleFiles``: paths are relative to the bundle's ``pipeline.toml``,
checked by the one path rule (``paths.path_problem``), and never lead outside the bundle.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import shutil
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from nodepipe.bundles.errors import BundleError
from nodepipe.bundles.model import BundleLocation
from nodepipe.bundles.paths import normal_path, path_problem
from nodepipe.bundles.tree import copy_local_tree, inside, is_skipped, local_files

MAX_READ_BYTES = 64 * 1024 * 1024
"""The largest file of a bundle nodepipe reads whole to parse it (a ``uv.lock``, a
``pyproject.toml``, ``pipeline.lock``): a larger one is refused unread, not loaded."""
CHUNK = 1024 * 1024
MAX_TREE_FILES = 20_000
"""Files one folder of a bundle at a URL may hold (as many as an archive's members)."""
MAX_TREE_BYTES = 8 * 1024**3
"""Bytes one folder of a bundle at a URL may bring (as an archive's members): a server
sending without end is refused there, never held in memory."""


def too_large(location: BundleLocation, relative: str, limit: int) -> BundleError:
    """The refusal of a file longer than the ``limit`` it is read with."""
    return BundleError(
        f"{location}: {relative!r} holds more than {limit} bytes, the most nodepipe reads of "
        "such a file; refused"
    )


def checked_relative(relative: str, location: BundleLocation) -> str:
    """``relative`` normalised, if it is a path inside the bundle; BundleError otherwise."""
    problem = path_problem(relative)
    if problem and relative not in (".", ""):
        raise BundleError(f"{location}: {relative!r} is not a path inside the bundle: {problem}")
    return "." if relative in (".", "") else normal_path(relative)


class LocalBundleFiles:
    """A bundle in a local folder."""

    def __init__(self, root: Path, location: BundleLocation) -> None:
        self.root = root
        self._location = location

    @property
    def location(self) -> BundleLocation:
        return self._location

    def read_bytes(self, relative: str, limit: int | None = None) -> bytes:
        """The bytes of a regular file of the bundle: a pipe, a socket or a device is refused
        without waiting on it (opened without blocking, then looked at), and a file larger
        than ``limit`` (a sparse file costs no disk) unread."""
        with self._open(relative) as handle:
            if limit is None:
                return handle.read()
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(size + 1) if size <= limit else b""  # not a buffer of limit
            if size > limit or len(data) > limit:
                raise too_large(self._location, relative, limit)
            return data

    def sha256(self, relative: str) -> str:
        with self._open(relative) as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()

    def _open(self, relative: str) -> io.BufferedReader:
        path = inside(self.root, checked_relative(relative, self._location))
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise BundleError(f"{self._location}: no file {relative!r}") from None
        handle = os.fdopen(descriptor, "rb")
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            handle.close()
            if stat.S_ISDIR(mode):
                raise BundleError(f"{self._location}: {relative!r} is a folder, not a file")
            raise BundleError(
                f"{self._location}: {relative!r} is not a regular file (a pipe, a socket or a "
                "device); refused"
            )
        return handle

    def exists(self, relative: str) -> bool:
        try:
            return inside(self.root, checked_relative(relative, self._location)).exists()
        except BundleError:
            return False

    def files(self, relative: str) -> tuple[str, ...]:
        walk = local_files(self.root, checked_relative(relative, self._location))
        return tuple(name for name, _ in walk)

    def copy_tree(self, relative: str, destination: Path) -> None:
        copy_local_tree(self.root, checked_relative(relative, self._location), destination)


class FsspecBundleFiles:
    """A bundle at an fsspec location (``memory://``, ``s3://``, ``https://``...)."""

    def __init__(self, fs: Any, root: str, location: BundleLocation) -> None:
        self.fs = fs
        self.root = root.rstrip("/") or "/"
        self._location = location

    @property
    def location(self) -> BundleLocation:
        return self._location

    def _path(self, relative: str) -> str:
        relative = checked_relative(relative, self._location)
        return self.root if relative == "." else posixpath.join(self.root, relative)

    def read_bytes(self, relative: str, limit: int | None = None) -> bytes:
        parts: list[bytes] = []
        read = 0
        try:
            with self.fs.open(self._path(relative), "rb") as handle:
                while chunk := handle.read(CHUNK):
                    parts.append(chunk)
                    read += len(chunk)
                    if limit is not None and read > limit:
                        raise too_large(self._location, relative, limit)
        except (FileNotFoundError, IsADirectoryError):
            raise BundleError(f"{self._location}: no file {relative!r}") from None
        return b"".join(parts)

    def sha256(self, relative: str) -> str:
        try:
            with self.fs.open(self._path(relative), "rb") as handle:
                digest = hashlib.sha256()
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
        except (FileNotFoundError, IsADirectoryError):
            raise BundleError(f"{self._location}: no file {relative!r}") from None
        return digest.hexdigest()

    def exists(self, relative: str) -> bool:
        try:
            return bool(self.fs.exists(self._path(relative)))
        except BundleError:
            return False

    def files(self, relative: str) -> tuple[str, ...]:
        folder = self._path(relative)
        if not self.fs.isdir(folder):
            raise BundleError(f"the bundle {self._location} has no folder {relative!r}")
        found = self.fs.find(folder, withdirs=False, detail=True)
        names = []
        for path, info in found.items():
            name = PurePosixPath(posixpath.relpath(path, folder.rstrip("/") or "/"))
            if name.is_absolute() or ".." in name.parts:
                raise BundleError(f"{self._location} lists {path!r}, outside the bundle; refused")
            if info.get("islink"):
                raise BundleError(f"{name} in {self._location} is a link; refused")
            if info.get("type") == "file" and not any(is_skipped(p) for p in name.parts):
                names.append(str(name))
        return tuple(sorted(names))

    def copy_tree(self, relative: str, destination: Path) -> None:
        if destination.exists() or destination.is_symlink():
            raise BundleError(f"cannot copy into {destination}: it already exists")
        names = self.files(relative)
        if len(names) > MAX_TREE_FILES:
            raise BundleError(
                f"{self._location}: {relative!r} holds more than {MAX_TREE_FILES} files, the "
                "most nodepipe copies of a bundle's folder; refused"
            )
        folder = self._path(relative)
        left = MAX_TREE_BYTES
        try:
            destination.mkdir(parents=True)
            for name in names:
                target = destination / name
                target.parent.mkdir(parents=True, exist_ok=True)
                left = self._copy_file(posixpath.join(folder, name), target, left, relative)
        except BaseException:
            shutil.rmtree(destination, ignore_errors=True)
            raise

    def _copy_file(self, source: str, target: Path, left: int, relative: str) -> int:
        """Stream ``source`` to ``target``; what is left of the folder's ``MAX_TREE_BYTES``."""
        with self.fs.open(source, "rb") as reader, target.open("xb") as writer:
            while chunk := reader.read(CHUNK):
                left -= len(chunk)
                if left < 0:
                    raise BundleError(
                        f"{self._location}: {relative!r} holds more than {MAX_TREE_BYTES} "
                        "bytes, the most nodepipe copies of a bundle's folder; refused"
                    )
                writer.write(chunk)
        return left
