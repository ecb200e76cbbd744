"""A wheel or sdist uploaded through the web app, staged for ``package pull``.

``stage_upload`` copies the uploaded bytes (at most ``limit``) into a file of a new scratch
folder of the workspace journal (``ARCHIVE_KIND``: mode 0700 under ``.nodepipe/staging``, the
file 0600, both the server's user's) and reads the bundle out of it at once (no build, nothing
of it run, every member checked), so a file that is not a nodepipe package, a hostile archive
or an oversized one is refused while the request lasts and leaves nothing. The caller pulls
from the staged bundle and ``discard``s it when that is over, whatever the outcome; a process
that dies meanwhile leaves a scratch folder the next command removes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nodepipe.bundles.archive import CHUNK
from nodepipe.domain.errors import Action, Hint, InvalidInputError
from nodepipe.packaging.archives import unpack_package
from nodepipe.packaging.errors import PackageError
from nodepipe.services.bundles.archives import ARCHIVE_KIND
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace import journal
from nodepipe.workspace.crash_points import crash_point

MAX_UPLOAD_BYTES = 1024**3
"""The largest package file the web app takes (a larger one is pulled by URL or name)."""
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,200}\.(whl|tar\.gz|tgz)")


@dataclass(slots=True)
class StagedPackage:
    """An uploaded package file and its bundle, in a private scratch folder until
    ``discard``."""

    file: Path
    bundle: Path
    release: str
    """``name==version`` of the package."""
    _operation: journal.Operation

    def discard(self) -> None:
        """Remove the file and its bundle (idempotent)."""
        self._operation.finish()


def stage_upload(
    context: WorkspaceContext, upload: BinaryIO, filename: str, limit: int = MAX_UPLOAD_BYTES
) -> StagedPackage:
    """Copy ``upload`` (named ``filename`` by the browser) into a private scratch folder and
    read its bundle; PackageError, with the hint to choose another file, and nothing left, if
    it is not a wheel or sdist of a nodepipe package of at most ``limit`` bytes."""
    hint = Hint(Action.PACKAGE_UPLOAD, {"limit": _size(limit)})
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if not _FILE_NAME.fullmatch(name):
        raise PackageError(
            f"{filename!r} is not a wheel (.whl) or an sdist (.tar.gz) file name", hint=hint
        )
    operation = journal.begin(context.layout.staging_dir, ARCHIVE_KIND)
    try:
        operation.folder.chmod(PRIVATE_FOLDER)
        file = operation.folder / name
        _copy(upload, file, limit, hint)
        bundle = operation.folder / "bundle"
        found = unpack_package(file, bundle)
        crash_point("package.uploaded")
    except InvalidInputError as exc:
        operation.finish()
        raise PackageError(str(exc), hint=exc.hint or hint) from None
    except BaseException:
        operation.finish()
        raise
    return StagedPackage(file, bundle, f"{found.dist}=={found.version}", operation)


def _copy(upload: BinaryIO, file: Path, limit: int, hint: Hint) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    copied = 0
    with os.fdopen(os.open(file, flags, PRIVATE_FILE), "wb") as writer:
        while chunk := upload.read(CHUNK):
            copied += len(chunk)
            if copied > limit:
                raise PackageError(
                    f"{file.name} is larger than {_size(limit)}: too large to upload", hint=hint
                )
            writer.write(chunk)


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:g} {unit}"
    return f"{count} bytes"
