"""The workspace's object store: file contents kept once each, named by their sha256.

```
<root>/.nodepipe/objects/<first two hex digits>/<sha256>    the bytes, read-only
<root>/.nodepipe/objects/damaged/<sha256>                   a content a read found damaged
```

An object is no more readable than the file it was copied from (a private file's content
stays private); nothing in it is ever written again.

Node runs record what they ran with here (``workspace.run_environment``): their locks, their
code files and the manifest naming those files. A content already present costs one ``stat``;
a new one is written aside and renamed into place, so a reader never sees part of an object and
two writers of the same content both succeed. Nothing is flushed per object: the caller flushes
the filesystem once after a batch of new objects (``sync_filesystem``). Reading checks the
digest, so a damaged object (changed or cut short on disk) is reported, never used: a
``DamagedObjectError``, a failure of the workspace's storage, not an unknown name. The read that
finds it moves it aside, into ``damaged/`` (when it may), so the next keeping of that content
(running again the node that recorded it) writes it anew; until then a read of it is still
told as damage, not as a missing content.

A content kept again is touched (its mtime is now), so collecting (``workspace.object_collect``:
only contents older than a grace period that no record names) never takes one a run is
recording; a content being collected is renamed to ``.collecting.<sha256>`` first and is
still read under that name until it is gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nodepipe.domain.environments import is_sha256
from nodepipe.domain.errors import NotFoundError, StorageError

OBJECT_MODE = 0o444
COLLECTING = ".collecting."
"""How a content being collected is named beside its place, ``.collecting.<sha256>``."""
DAMAGED = "damaged"
"""The folder of the store (and of remote storage) a content found damaged is set aside in."""
_CHUNK = 1 << 20
_TOUCHED_FOR = 1.0
"""Seconds a content this process touched counts as kept without touching it again: far
below the grace period a collection leaves new contents (an hour by default), so a content
kept then is still new to a collection when the store records the run that kept it."""
_TOUCHED: dict[tuple[Path, str], float] = {}
"""Contents this process touched, by store and digest, with when (``time.monotonic``)."""
_TOUCHED_KEPT = 4096


class MissingObjectError(NotFoundError):
    """A recorded content is not in the object store (removed by hand)."""


class DamagedObjectError(StorageError):
    """A stored content (in the workspace's object store or in remote storage) no longer
    hashes to its name: changed or cut short on disk. It is refused, never used."""


def _damaged(digest: str, path: Path, name: str, aside: Path | None) -> DamagedObjectError:
    what = f"{name} (content {digest[:12]}, {path})" if name else f"content {digest[:12]} ({path})"
    moved = (
        f"; it is set aside in {aside}, so running again the node that recorded it stores it anew"
        if aside is not None
        else ""
    )
    return DamagedObjectError(
        f"the stored {what} is damaged: its bytes no longer hash to its name (changed or cut "
        f"short on disk){moved}"
    )


@dataclass(frozen=True, slots=True)
class ObjectStore:
    """Contents by sha256 under ``root``."""

    root: Path

    def path(self, digest: str) -> Path:
        """Where the content ``digest`` lives; refuses anything that is not a sha256."""
        if not is_sha256(digest):
            raise ValueError(f"{digest!r} is not a sha256 digest")
        return self.root / digest[:2] / digest

    def aside(self, digest: str) -> Path:
        """Where the content ``digest`` is set aside once a read found it damaged."""
        return self.root / DAMAGED / self.path(digest).name

    def is_damaged(self, digest: str) -> bool:
        """Whether the stored content ``digest`` no longer hashes to its name (False when it
        is not stored)."""
        try:
            return _file_digest(self._located(digest)) != digest
        except FileNotFoundError:
            return False

    def set_aside(self, digest: str, path: Path | None = None) -> Path | None:
        """Move the damaged content ``digest`` (read at ``path``, its place by default) into
        ``damaged/``, so that keeping it again writes it anew; where it went, or None when it
        could not be moved (a store this user may not write to) or is gone already."""
        target = self.aside(digest)
        try:
            target.parent.mkdir(exist_ok=True)
            (path or self.path(digest)).replace(target)
        except OSError:
            return None
        forget_touches()
        return target

    def has(self, digest: str) -> bool:
        return self._located(digest).exists()

    def _located(self, digest: str) -> Path:
        """Where ``digest`` can be read: its place, or its name while it is being collected."""
        path = self.path(digest)
        if path.exists():
            return path
        collecting = path.with_name(COLLECTING + digest)
        return collecting if collecting.exists() else path

    def _kept_again(self, digest: str) -> bool:
        """Whether ``digest`` is stored; touched if so, so that collecting leaves it alone.
        A content this process touched less than ``_TOUCHED_FOR`` seconds ago is not touched
        again (the nodes of one run mostly share their locks and code), but it is still looked
        for: another process may have collected it since (``doctor --objects --collect``)."""
        if not is_sha256(digest):
            raise ValueError(f"{digest!r} is not a sha256 digest")
        now = time.monotonic()
        path = f"{self.root}/{digest[:2]}/{digest}"  # as ``path``; a string: a few a node run
        if now - _TOUCHED.get((self.root, digest), -_TOUCHED_FOR) < _TOUCHED_FOR:
            return os.path.exists(path)  # noqa: PTH110 (a str path, as above)
        try:
            os.utime(path)
        except FileNotFoundError:
            return False  # absent, or being collected: written again
        except PermissionError:  # another user's content: there, but not ours to touch
            return os.path.exists(path)  # noqa: PTH110
        if len(_TOUCHED) >= _TOUCHED_KEPT:
            _TOUCHED.clear()
        _TOUCHED[self.root, digest] = now
        return True

    def keep(self, digest: str) -> bool:
        """Whether ``digest`` is stored, touched if so as a put of its content would touch it
        (so that collecting leaves it alone); False when it is missing (or being collected):
        then put its content again."""
        return self._kept_again(digest)

    def put_bytes(self, data: bytes) -> tuple[str, bool]:
        """Keep ``data``: (its digest, whether it was new)."""
        digest = hashlib.sha256(data).hexdigest()
        if self._kept_again(digest):
            return digest, False
        self._publish(digest, data)
        return digest, True

    def put_file(self, source: str | Path, expected: str | None = None) -> tuple[str, bool]:
        """Keep the bytes of ``source`` as they are read now: (their digest, whether they
        were new). ``expected`` (the digest the caller saw), when already stored, is trusted
        without reading the file again."""
        if expected is not None and is_sha256(expected) and self._kept_again(expected):
            return expected, False
        if self._kept_again(seen := _file_digest(source)):  # known, not named by the caller
            return seen, False
        temporary, digest = self._copy_aside(source)
        final = self.path(digest)
        if final.exists():
            temporary.unlink()
            return digest, False
        temporary.replace(final)
        return digest, True

    def read(self, digest: str, name: str = "") -> bytes:
        """The content ``digest``; MissingObjectError when it is missing, DamagedObjectError
        when it is damaged (naming it as ``name``, the file it was recorded as)."""
        path = self._located(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise self._missing(digest, name) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise _damaged(digest, path, name, self.set_aside(digest, path))
        return data

    def _missing(self, digest: str, name: str) -> NotFoundError | DamagedObjectError:
        """The error for a content not in its place: damaged when a read set it aside."""
        aside = self.aside(digest)
        if aside.exists():
            return _damaged(digest, self.path(digest), name, aside)
        return MissingObjectError(f"the stored content {digest[:12]} is missing from {self.root}")

    def copy_to(self, digest: str, target: Path, mode: int = 0o644, name: str = "") -> None:
        """Write the content ``digest`` to the new file ``target``, made with ``mode`` (less
        what the umask takes), checking it as it is copied; MissingObjectError or
        DamagedObjectError (and no ``target``) when it is missing or damaged."""
        check = hashlib.sha256()
        located = self._located(digest)
        try:
            with located.open("rb") as origin, _new_file(target, mode) as copy:
                while chunk := origin.read(_CHUNK):
                    check.update(chunk)
                    copy.write(chunk)
        except FileNotFoundError:
            raise self._missing(digest, name) from None
        if check.hexdigest() != digest:
            target.unlink()
            raise _damaged(digest, located, name, self.set_aside(digest, located))

    def _publish(self, digest: str, data: bytes) -> None:
        final = self.path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.with_name(f".{digest}.{os.urandom(4).hex()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            temporary.chmod(OBJECT_MODE)
            temporary.replace(final)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise

    def _copy_aside(self, source: str | Path) -> tuple[Path, str]:
        """Copy ``source`` into a temporary file of the store, hashing as it goes."""
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.root / f".incoming.{os.urandom(8).hex()}.tmp"
        digest = hashlib.sha256()
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle, open(source, "rb") as origin:  # noqa: PTH123
                while chunk := origin.read(_CHUNK):
                    digest.update(chunk)
                    handle.write(chunk)
                readable = stat.S_IMODE(os.fstat(origin.fileno()).st_mode) & OBJECT_MODE
            temporary.chmod(readable | stat.S_IRUSR)  # no more readable than the file was
            final = self.path(digest.hexdigest())
            final.parent.mkdir(parents=True, exist_ok=True)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        return temporary, digest.hexdigest()


def forget_touches() -> None:
    """Look at every content again at its next keeping (this process collects contents)."""
    _TOUCHED.clear()


def _file_digest(path: str | Path) -> str:
    with open(path, "rb") as handle:  # noqa: PTH123 (a str path on a node run's way)
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _new_file(target: Path, mode: int) -> BinaryIO:
    """``target`` made for writing, with ``mode`` from the start; FileExistsError if it is."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    return os.fdopen(os.open(target, flags, mode), "wb")
