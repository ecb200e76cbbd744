"""Object storage at any fsspec URL: contents named by their sha256, for remote workers.

```
<url>/objects/<first two hex digits>/<sha256>   a content (a file's bytes, or a tree manifest)
<url>/incoming/<random>.tmp                     an upload in flight
```

Where workers share no filesystem with the orchestrator (DESIGN.md §4.6), a node's code, its
parents' outputs and its own outputs travel through such a storage: a local folder standing for
a bucket, ``s3://bucket/prefix`` (with s3fs; credentials from the usual places: environment,
``~/.aws``, instance roles), or any other fsspec filesystem.

- **Whole or absent.** An upload goes to ``incoming/`` under a random name and is moved into
  place once complete, so a reader never sees part of an object; an upload cut short (a killed
  orchestrator or worker) leaves only an ``incoming/`` entry that ``nodepipe doctor`` removes.
- **Checked.** Every read hashes what it reads; a content that does not hash to its name is
  refused (``DamagedObjectError``) and nothing is made from it.
- **Once.** A content already present costs one existence check: unchanged code and outputs are
  uploaded once, whoever uploads them.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from nodepipe.domain.environments import is_sha256
from nodepipe.domain.errors import InvalidInputError, StorageError
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.objects import OBJECT_MODE, MissingObjectError

OBJECTS = "objects"
INCOMING = "incoming"
RECORDS = "runs"
_CHUNK = 1 << 20


class DamagedObjectError(StorageError):
    """A content in the storage does not hash to its name: it is refused, never used."""


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

    def put_bytes(self, data: bytes) -> tuple[str, bool]:
        """Keep ``data``: (its digest, whether it was new)."""
        digest = hashlib.sha256(data).hexdigest()
        if self.has(digest):
            return digest, False
        incoming = self._incoming()
        self._call("upload", digest, self.fs.pipe_file, incoming, data)
        self._publish(incoming, digest)
        return digest, True

    def put_file(self, source: Path, digest: str) -> bool:
        """Upload ``source``, whose content is ``digest`` (the caller hashed it); False when
        the storage had it already."""
        if self.has(digest):
            return False
        incoming = self._incoming()
        self._call("upload", digest, self.fs.put_file, str(source), incoming)
        self._publish(incoming, digest)
        return True

    def read(self, digest: str) -> bytes:
        """The content ``digest``, checked."""
        data: bytes = self._call("read", digest, self.fs.cat_file, self.object_path(digest))
        if hashlib.sha256(data).hexdigest() != digest:
            raise DamagedObjectError(self._damaged(digest))
        return data

    def get_file(self, digest: str, target: Path, mode: int = 0o644) -> None:
        """Write the content ``digest`` to the new file ``target``, checked: a damaged content
        leaves no ``target`` (a temporary beside it while it downloads)."""
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
                raise DamagedObjectError(self._damaged(digest))
            temporary.chmod(mode)
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
            self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
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

    def remove_incoming(self, path: str) -> None:
        if not path.startswith(f"{self.root}/{INCOMING}/"):
            raise InvalidInputError(f"{path} is not an upload of {self.url}")
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)

    def _incoming(self) -> str:
        folder = f"{self.root}/{INCOMING}"
        self._call("write to", "incoming", self.fs.makedirs, folder, exist_ok=True)
        return f"{folder}/{secrets.token_hex(12)}.tmp"

    def _publish(self, incoming: str, digest: str) -> None:
        """Move a whole upload into place (readable by all: contents are addressed, not
        secret, once uploaded to the shared storage)."""
        final = self.object_path(digest)
        crash_point("storage.uploaded")
        try:
            self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
            if isinstance(self.fs, LocalFileSystem):
                Path(incoming).chmod(OBJECT_MODE)
            self.fs.invalidate_cache()  # s3fs remembers listings from before the upload
            self.fs.mv(incoming, final)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(incoming)
            raise

    def _damaged(self, digest: str) -> str:
        return (
            f"the content {digest[:12]} in the storage {self.url} is damaged (it does not hash "
            f"to its name) and was not used; delete {self.object_path(digest)} so that the next "
            "upload replaces it"
        )

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
