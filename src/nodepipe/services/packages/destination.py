"""Where ``package build`` puts its wheel and sdist: the destination folder, each file whole.

The files are built in a scratch folder of the workspace journal and renamed into the
destination, replacing files of the same names. A rename cannot cross file systems (a share, a
USB disk, a tmpfs): there each file is copied beside its place under a name of nodepipe's
(``.NAME.nodepipe-copy-<8 hex>``, each with a name of its own, made new: the folder may be
shared, like ``/tmp``, and nothing another user made there is written through), flushed and
renamed into it. Those names are recorded beforehand in a journal operation (``COPY_KIND``): a
build that fails removes its copies at once, and one killed while copying leaves a partial
copy that the next command removes (``recover_copies``), so nothing but whole wheels and
sdists is ever left in the destination.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
from pathlib import Path

from nodepipe.domain.arguments import path_of
from nodepipe.packaging.errors import PackageError
from nodepipe.workspace import journal
from nodepipe.workspace.crash_points import crash_point, pause_point
from nodepipe.workspace.durable import fsync_dir, fsync_file, new_file_mode

COPY_KIND = "package-copy"
"""A journal operation copying built files into a destination on another file system; intent
``copies``: the paths of the copies it makes there."""

_COPY_NAME = re.compile(r"\.[^/]+\.nodepipe-copy-[0-9a-f]{8}")
"""The name of a copy being made (``.NAME.nodepipe-copy-<8 hex>``): a recovery removes only
paths so named (a damaged or hostile record names nothing else)."""


def destination_folder(destination: Path | str | None) -> Path:
    """The absolute folder ``destination`` names (default ``./dist``); PackageError if it is
    a file."""
    target = Path(os.path.normpath(path_of(destination or "dist", "the destination").absolute()))
    if target.exists() and not target.is_dir():
        raise PackageError(f"the destination {target} is a file, not a folder")
    return target


def move_into(built: tuple[Path, Path], target: Path, staging: Path) -> tuple[Path, Path]:
    """Move the wheel and sdist ``built`` into the folder ``target`` (files of the same names
    replaced, each all at once): renamed there, or copied when ``target`` is on another file
    system, in a journal operation under ``staging``."""
    target.mkdir(parents=True, exist_ok=True)
    for path in built:  # uv writes them 0644 whatever the umask: made as open() makes a file
        path.chmod(new_file_mode())
    try:
        for path in built:
            path.replace(target / path.name)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        _copy_into([p for p in built if p.exists()], target, staging)
    return target / built[0].name, target / built[1].name


def _copy_into(files: list[Path], target: Path, staging: Path) -> None:
    copies = [
        (path, target / f".{path.name}.nodepipe-copy-{secrets.token_hex(4)}") for path in files
    ]
    with journal.operation(staging, COPY_KIND, copies=[str(copy) for _, copy in copies]):
        try:
            for path, copy in copies:
                _copy_new(path, copy)
                crash_point(f"aside-written{path.suffix}")  # as ``write_aside`` names it
                pause_point(f"package.copy-written{path.suffix}")  # tests: another user acts
                fsync_file(copy)
                copy.replace(target / path.name)
            fsync_dir(target)
        finally:
            for _, copy in copies:
                with contextlib.suppress(OSError):
                    copy.unlink(missing_ok=True)


def _copy_new(source: Path, copy: Path) -> None:
    """Copy ``source`` into the new file ``copy``, never through a name another user made
    first: the destination may be shared (``/tmp``), where a link or a file of theirs planted
    under the copy's name would be written through, or become the file in place."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with source.open("rb") as original, os.fdopen(os.open(copy, flags, 0o666), "wb") as handle:
        shutil.copyfileobj(original, handle)


def recover_copies(operation: journal.Operation) -> None:
    """Remove the copies a killed build was making (its files in place stay: each is whole)."""
    recorded = operation.intent.get("copies")
    for written in recorded if isinstance(recorded, list) else []:
        path = Path(str(written))
        if path.is_absolute() and _COPY_NAME.fullmatch(path.name) and not path.is_dir():
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


__all__ = ["COPY_KIND", "destination_folder", "move_into", "recover_copies"]
