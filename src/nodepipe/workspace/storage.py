"""Object storage at any fsspec URL: contents named by their sha256, for remote workers.

```
<url>/objects/<first two hex digits>/<sha256>   a content (a file's bytes, or a tree manifest)
<url>/incoming/<random>.tmp                     an upload in flight
<url>/damaged/<sha256>                          a note: a read refused this content
```

Where workers share no filesystem with the orchestrator (DESIGN.md §4.6), a node's code, its
parents' outputs and its own outputs travel through such a storage: a local folder standing for
a bucket, ``s3://bucket/prefix`` (with s3fs; credentials from the usual places: environment,
``~/.aws``, instance roles), or any other fsspec filesystem.

- **Whole or absent.** An upload goes to ``incoming/`` under a random name and is moved into
  place once complete, so a reader never sees part of an object; an upload cut short (a killed
  orchestrator or worker) leaves only an ``incoming/`` entry that ``nodepipe doctor`` removes.
- **Checked.** Every read hashes what it reads; a content that does not hash to its name is
  refused (``DamagedObjectError``), nothing is made from it, and the refusal leaves a note.
- **Once, and repaired.** A content already present costs one look at its size: unchanged code
  and outputs are uploaded once. An upload replaces a present content (through ``incoming/``:
  a reader sees the old bytes or the right ones) when its size is wrong, or when a refusal's
  note asks for a check and its digest is wrong; so running again the node that made a damaged
  content repairs it (hashing every present content would download what dedup saves).
- **Modes.** A local folder is its owner's, or its team's (``workspace.storage_folder``).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from nodepipe.domain.environments import is_sha256
from nodepipe.domain.errors import InvalidInputError, StorageError
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import new_file_mode
from nodepipe.workspace.objects import DAMAGED, DamagedObjectError, MissingObjectError
from nodepipe.workspace.storage_folder import FolderModes

OBJECTS = "objects"
INCOMING = "incoming"
RECORDS = "runs"
_CHUNK = 1 << 20
REPAIRED_BY_UPLOAD = "the next upload of it replaces it: run the node that made it again"
"""How a refusal of a damaged content ends: the fix."""


@dataclass(frozen=True, slots=True)
class Storage:
    """Contents by sha256 at ``url`` (``fs`` and ``root`` are fsspec's view of it)."""

    url: str
    fs: Any
    root: str

    @classmethod
    def open(cls, url: str, base: Path | None = None) -> Storage:
        """The storage at ``url``: an fsspec URL, or a local path (relative to ``base``)."""
        if not url.strip():
            raise InvalidInputError("the storage URL is empty; give a folder or an fsspec URL")
        if "://" not in url:
            url = str((base or Path.cwd()) / Path(url).expanduser())
        try:
            fs, root = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise InvalidInputError(
                f"cannot use the storage {url}: {exc} (an s3:// URL needs s3fs installed)"
            ) from exc
        return cls(url, fs, str(root).rstrip("/"))

    def object_path(self, digest: str) -> str:
        if not is_sha256(digest):
            raise InvalidInputError(f"{digest!r} is not a sha256 digest")
        return f"{self.root}/{OBJECTS}/{digest[:2]}/{digest}"

    def has(self, digest: str) -> bool:
        return bool(self._call("look for", digest, self.fs.exists, self.object_path(digest)))

    def put_bytes(self, data: bytes, recheck: bool = False) -> tuple[str, bool]:
        """Keep ``data``: (its digest, whether it was uploaded). ``recheck``: see ``put_file``."""
        digest = hashlib.sha256(data).hexdigest()
        send = partial(self._pipe, data=data)
        return digest, self._upload(digest, len(data), recheck, send)

    def put_file(self, source: Path, digest: str, recheck: bool = False) -> bool:
        """Upload ``source``, whose content is ``digest`` (the caller hashed it); False when
        the storage holds it already. A present content of the wrong size is replaced; with
        ``recheck`` (a refusal noted it: ``refused()``) it is hashed and replaced if damaged."""
        send = partial(self.fs.put_file, str(source))
        return self._upload(digest, source.stat().st_size, recheck, send)

    def refused(self) -> frozenset[str]:
        """The contents a read refused since an upload last checked them (one listing)."""
        with contextlib.suppress(FileNotFoundError):
            names = self._call("list", DAMAGED, self.fs.ls, f"{self.root}/{DAMAGED}", detail=False)
            return frozenset(n for n in (str(p).rsplit("/", 1)[-1] for p in names) if is_sha256(n))
        return frozenset()

    def read(self, digest: str) -> bytes:
        """The content ``digest``, checked."""
        data: bytes = self._call("read", digest, self.fs.cat_file, self.object_path(digest))
        if hashlib.sha256(data).hexdigest() != digest:
            raise self._refuse(digest)
        return data

    def get_file(self, digest: str, target: Path, mode: int | None = None) -> None:
        """Write the content ``digest`` to the new file ``target`` (``mode``, else what
        ``open()`` gives a new file), checked: a damaged content leaves no ``target`` (a
        temporary beside it while it downloads)."""
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        check = hashlib.sha256()
        try:
            with (
                self._call("read", digest, self.fs.open, self.object_path(digest), "rb") as origin,
                temporary.open("xb") as copy,
            ):
                while chunk := origin.read(_CHUNK):
                    check.update(chunk)
                    copy.write(chunk)
            if check.hexdigest() != digest:
                raise self._refuse(digest)
            temporary.chmod(new_file_mode() if mode is None else mode)
            temporary.rename(target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()

    def record_path(self, key: str) -> str:
        if not is_sha256(key):
            raise InvalidInputError(f"{key!r} is not a sha256 digest")
        return f"{self.root}/{RECORDS}/{key[:2]}/{key}"

    def put_record(self, key: str, data: bytes) -> None:
        """Name ``data`` by ``key`` (a run record: not content-addressed), replacing whole."""
        incoming = self._incoming()
        self._call("upload", key, self.fs.pipe_file, incoming, data)
        final = self.record_path(key)
        try:
            self._makedirs(final.rsplit("/", 1)[0])
            self._seal(incoming)
            self.fs.invalidate_cache()
            self.fs.mv(incoming, final)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(incoming)
            raise

    def read_record(self, key: str) -> bytes | None:
        """The record ``key``, or None when there is none."""
        try:
            data: bytes = self.fs.cat_file(self.record_path(key))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read the record {key[:12]} in {self.url}: {exc}") from exc
        return data

    def records(self) -> Iterator[bytes]:
        """Every run record's content."""
        for path in self._call("list", "records", self.fs.glob, f"{self.root}/{RECORDS}/*/*"):
            with contextlib.suppress(FileNotFoundError):
                yield self.fs.cat_file(str(path))

    def digests(self) -> Iterator[str]:
        """Every content the storage holds."""
        pattern = f"{self.root}/{OBJECTS}/*/*"
        for path in self._call("list", "objects", self.fs.glob, pattern):
            name = str(path).rsplit("/", 1)[-1]
            if is_sha256(name):
                yield name

    def incoming(self) -> list[str]:
        """Uploads in flight (or cut short), as paths."""
        with contextlib.suppress(FileNotFoundError):
            return [str(p) for p in self.fs.ls(f"{self.root}/{INCOMING}", detail=False)]
        return []

    def age(self, path: str) -> float:
        """Seconds since ``path`` (a content's or an upload's) was written; 0 if unknown."""
        try:
            info = self.fs.info(path)
        except OSError:
            return 0.0
        written = info.get("mtime") or info.get("LastModified") or info.get("created")
        if isinstance(written, datetime):
            written = written.timestamp()
        return max(0.0, time.time() - float(written)) if written else 0.0

    def remove(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._call("remove", digest, self.fs.rm_file, self.object_path(digest))
        self.forget_refusal(digest)

    def remove_incoming(self, path: str) -> None:
        if not path.startswith(f"{self.root}/{INCOMING}/"):
            raise InvalidInputError(f"{path} is not an upload of {self.url}")
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)

    def _upload(self, digest: str, size: int, recheck: bool, send: Callable[[str], object]) -> bool:
        """Unless the storage holds ``digest`` whole, ``send`` it to ``incoming/`` and move it
        into place; then a refusal's note is done with. Whether it was uploaded."""
        uploaded = not self._holds(digest, size, recheck)
        if uploaded:
            incoming = self._incoming()
            self._call("upload", digest, send, incoming)
            self._publish(incoming, digest)
        if recheck:
            self.forget_refusal(digest)
        return uploaded

    def _pipe(self, path: str, data: bytes) -> None:
        self.fs.pipe_file(path, data)

    def _holds(self, digest: str, size: int, recheck: bool) -> bool:
        """Whether the content ``digest`` (``size`` bytes) is there whole: its size, and with
        ``recheck`` its digest."""
        try:
            found = self._call("look for", digest, self.fs.info, self.object_path(digest))
        except FileNotFoundError:
            return False
        return bool(found.get("size") == size and (not recheck or self._hashes_to(digest)))

    def _hashes_to(self, digest: str) -> bool:
        check = hashlib.sha256()
        with self._call("read", digest, self.fs.open, self.object_path(digest), "rb") as origin:
            while chunk := origin.read(_CHUNK):
                check.update(chunk)
        return check.hexdigest() == digest

    def _incoming(self) -> str:
        folder = f"{self.root}/{INCOMING}"
        self._call("write to", "incoming", self._makedirs, folder)
        return f"{folder}/{secrets.token_hex(12)}.tmp"

    def _publish(self, incoming: str, digest: str) -> None:
        """Move a whole upload into place, over a damaged content if there is one."""
        final = self.object_path(digest)
        crash_point("storage.uploaded")
        try:
            self._makedirs(final.rsplit("/", 1)[0])
            self._seal(incoming)
            self.fs.invalidate_cache()  # s3fs remembers listings from before the upload
            self.fs.mv(incoming, final)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(incoming)
            raise

    def _makedirs(self, folder: str) -> None:
        if isinstance(self.fs, LocalFileSystem):
            FolderModes.of(Path(self.root)).make_folders(Path(self.root), Path(folder))
        else:
            self.fs.makedirs(folder, exist_ok=True)

    def _seal(self, incoming: str) -> None:
        """A whole upload in a local folder becomes read-only, to its owner (or team)."""
        if isinstance(self.fs, LocalFileSystem):
            Path(incoming).chmod(FolderModes.of(Path(self.root)).content)

    def _refuse(self, digest: str) -> DamagedObjectError:
        """The error for a damaged ``digest``, after a note that makes its next upload check
        and replace it (if this reader may write)."""
        with contextlib.suppress(Exception):
            folder = f"{self.root}/{DAMAGED}"
            self._makedirs(folder)
            self.fs.pipe_file(f"{folder}/{digest}", b"")
        return DamagedObjectError(
            f"the content {digest[:12]} in the storage {self.url} is damaged (it does not hash "
            f"to its name) and was not used; {REPAIRED_BY_UPLOAD}"
        )

    def forget_refusal(self, digest: str) -> None:  # the note a refusal left, if any
        with contextlib.suppress(FileNotFoundError):
            self._call("forget", digest, self.fs.rm_file, f"{self.root}/{DAMAGED}/{digest}")

    def _call(self, verb: str, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except FileNotFoundError:
            if verb == "read":
                raise MissingObjectError(
                    f"the content {what[:12]} is missing from the storage {self.url}"
                ) from None
            raise
        except OSError as exc:
            raise StorageError(
                f"cannot {verb} {what[:12]} in the storage {self.url}: {exc}"
            ) from exc
