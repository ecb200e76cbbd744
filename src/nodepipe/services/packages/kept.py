"""The bundles that ``package pull --into`` keeps under ``.nodepipe/packages/``.

An include is read again from where it was found, so a pulled package's bundle must outlive
the pull: it is moved to ``.nodepipe/packages/NAME-VERSION`` (once: a released version does
not change; one pulled again with other contents replaces it when no include reads it, and is
refused otherwise) and the include records that folder. A folder moved there by a pull that
then failed, or was killed before its include was committed, is referenced by no include:
``keeping`` removes it on failure, and the journal (``KEEP_KIND``, recovered by
``recover_keep``) removes it after a crash. ``unreferenced`` lists such folders (the doctor
reports and removes any other way one was left, such as a pipeline deleted since).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from nodepipe.domain.errors import Action, Hint
from nodepipe.packaging.errors import PackageError
from nodepipe.packaging.names import is_project_name
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.packages.fetching import FetchedBundle
from nodepipe.workspace import journal
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.disk_usage import disk_used
from nodepipe.workspace.file_digests import sha256_file

PULLED_DIR = "packages"
"""Under ``.nodepipe/``: the bundles of packages pulled into pipelines as includes."""

KEEP_KIND = "package-keep"
"""A journal operation keeping a pulled bundle; intent ``kept``: the folder it moved there."""


@dataclass(frozen=True, slots=True)
class KeptFolder:
    """A folder under ``.nodepipe/packages`` and its size on disk in bytes."""

    path: Path
    size: int


def pulled_dir(context: WorkspaceContext) -> Path:
    return context.layout.state_dir / PULLED_DIR


def kept_path(context: WorkspaceContext, release: str) -> Path:
    """``.nodepipe/packages/NAME-VERSION`` for the release ``NAME==VERSION``, both checked:
    they come from the archive, and ``..`` or ``/`` in them would lead out of the folder."""
    dist, _, version = release.partition("==")
    if not is_project_name(dist):
        raise PackageError(f"the package's name {dist!r} is not a valid package name")
    try:
        version = str(Version(version))
    except InvalidVersion:
        raise PackageError(f"the package's version {version!r} is not a PEP 440 version") from None
    return pulled_dir(context) / f"{dist}-{version}"


@contextmanager
def keeping(context: WorkspaceContext, fetched: FetchedBundle) -> Iterator[Path]:
    """The lasting copy of ``fetched`` for the block (moved there the first time). Moved by
    this block and referenced by no include when the block ends (it failed) or after a crash
    (``recover_keep``): removed."""
    kept = kept_path(context, fetched.release)
    with journal.operation(context.layout.staging_dir, KEEP_KIND) as operation:
        operation.record(kept=str(kept))  # named even when reused: doctor leaves it alone
        changed = kept.is_dir() and _files(kept) != _files(fetched.directory)
        if changed and not remove_unreferenced(context, kept):  # an include reads it
            raise PackageError(
                f"{fetched.release} was pulled before with other contents, and an include "
                f"reads that copy ({kept}); a released version must not change",
                hint=Hint(Action.PACKAGE_VERSION),
            )
        moved = not kept.is_dir()
        if moved:
            kept.parent.mkdir(parents=True, exist_ok=True)
            fetched.directory.rename(kept)
            crash_point("package.kept")
        try:
            yield kept
        finally:
            if moved:
                remove_unreferenced(context, kept)


def _files(root: Path) -> dict[str, str]:
    """Every file under ``root`` by its path, with its sha256."""
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in root.rglob("*") if p.is_file()}


def recover_keep(context: WorkspaceContext, operation: journal.Operation) -> None:
    """A pull killed while keeping a bundle: its folder goes unless an include records it
    (one it found there already, and left unreferenced, too: doctor would remove it)."""
    kept = operation.intent.get("kept")
    if isinstance(kept, str):
        remove_unreferenced(context, Path(kept))


def _referenced(context: WorkspaceContext) -> set[Path]:
    with context.store.read() as session:
        locations = session.file_include_locations()
    return {Path(location).resolve() for location in locations}


def remove_unreferenced(context: WorkspaceContext, path: Path) -> bool:
    """Remove the kept folder ``path`` if still there and no include records it."""
    if path.parent != pulled_dir(context) or path.is_symlink() or not path.exists():
        return False
    if path.resolve() in _referenced(context):
        return False
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    return True


def unreferenced(context: WorkspaceContext) -> list[KeptFolder]:
    """The folders under ``.nodepipe/packages`` that no include records, with their sizes."""
    folder = pulled_dir(context)
    if not folder.is_dir():
        return []
    referenced = _referenced(context)
    return [
        KeptFolder(path, disk_used(path))
        for path in sorted(folder.iterdir())
        if path.resolve() not in referenced
    ]
