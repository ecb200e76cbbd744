"""Writing an export directory all at once: built beside it, then renamed into place.

Everything is written into a hidden folder beside ``DIR`` (same filesystem), flushed, and
renamed to ``DIR``. Replacing an existing ``DIR`` (``--force``) moves it aside first and
removes it once the new one is in place; only a previous export is replaced (``is_export``: a
``pipeline.lock`` nodepipe wrote, beside nothing an export does not write), never a folder
holding anything else. The steps are a workspace journal operation: if the
process dies, the next command puts the previous ``DIR`` back when the new one never arrived,
and removes what was left beside it. Killed at any step, ``DIR`` is never half-written.
"""

from __future__ import annotations

import secrets
import shutil
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nodepipe.bundles.lockfile import HEADER as LOCK_HEADER
from nodepipe.bundles.model import BUNDLE_FILE, LOCK_FILE
from nodepipe.domain.errors import ConflictError, InvalidInputError
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace import journal
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import fsync_dir, sync_filesystem
from nodepipe.workspace.layout import WorkspaceLayout

EXPORT_KIND = "bundle-export"
"""Journal operations writing an export directory: ``target``, ``staging`` and ``old``."""


EXPORT_ENTRIES = frozenset({BUNDLE_FILE, LOCK_FILE, "nodes"})
"""What an export writes at the top of ``DIR`` (and its ``py-dir``, if it has one)."""
_SHOWN = 5
"""How many of a folder's other entries a refusal names."""


class NotEmptyError(ConflictError):
    """The export directory is a previous export; replacing it must be asked for (``force``)."""


class NotAnExportError(ConflictError):
    """The export directory holds files no export wrote: never replaced, even with ``force``."""


def check_target(target: Path, force: bool, layout: WorkspaceLayout) -> None:
    """Refuse a target that is a file, the workspace or a folder holding it, a folder inside
    its ``.nodepipe/`` (but for its scratch folders: ``package build`` exports there) or
    ``nodes/`` (replacing it would delete them), or a non-empty directory without ``force``."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise InvalidInputError(f"{target} exists and is not a directory")
    real = target.resolve()
    state, scratch = layout.state_dir.resolve(), layout.staging_dir.resolve()
    if (
        layout.root.resolve().is_relative_to(real)
        or real.is_relative_to(layout.nodes_dir.resolve())
        or (real.is_relative_to(state) and (real == scratch or not real.is_relative_to(scratch)))
    ):
        raise InvalidInputError(
            f"{target} is the workspace, holds it, or is inside its own folders "
            f"(.nodepipe/, nodes/): an export there would replace them; choose a folder "
            "outside them"
        )
    if not target.is_dir() or not any(target.iterdir()):
        return
    ours = EXPORT_ENTRIES | _py_dir(target)
    others = sorted(e.name for e in target.iterdir() if e.name not in ours)
    if others or not is_export(target):
        shown = ", ".join(others[:_SHOWN]) + (", …" if len(others) > _SHOWN else "")
        raise NotAnExportError(
            f"{target} is not empty and is not a bundle nodepipe exported"
            + (f" (it holds {shown})" if others else f" (no {LOCK_FILE} nodepipe wrote)")
            + ": nodepipe replaces only a previous export; choose a new or empty directory"
        )
    if not force:
        raise NotEmptyError(
            f"{target} holds a previous export; choose another directory, or ask to replace it"
        )


def is_export(folder: Path) -> bool:
    """Whether ``folder`` holds a ``pipeline.lock`` that nodepipe wrote (its header line)."""
    try:
        with (folder / LOCK_FILE).open("rb") as file:
            first = file.readline(200)
    except OSError:
        return False
    return first.rstrip(b"\r\n") == f"# {LOCK_HEADER}".encode()


def _py_dir(folder: Path) -> set[str]:
    """The top folder of the ``py-dir`` the ``pipeline.toml`` in ``folder`` names, if any."""
    try:
        with (folder / BUNDLE_FILE).open("rb") as file:
            declared = tomllib.load(file).get("pipeline", {}).get("py-dir")
    except (OSError, ValueError, AttributeError):
        return set()
    top = declared.strip("/").split("/", 1)[0] if isinstance(declared, str) else ""
    return {top} if top not in ("", ".", "..") else set()


@contextmanager
def writing_directory(context: WorkspaceContext, target: Path) -> Iterator[Path]:
    """Yield an empty folder to write the export in; on success it becomes ``target``."""
    target = target.absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    staging = target.with_name(f".{target.name}.nodepipe-export-{token}")
    old = target.with_name(f".{target.name}.nodepipe-old-{token}")
    intent = {"target": str(target), "staging": str(staging), "old": str(old)}
    with journal.operation(context.layout.staging_dir, EXPORT_KIND, **intent):
        try:
            staging.mkdir()
            yield staging
            sync_filesystem(staging)
            crash_point("export.written")
            _swap_in(staging, target, old)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def _swap_in(staging: Path, target: Path, old: Path) -> None:
    if target.is_dir() and any(target.iterdir()):
        target.rename(old)
        crash_point("export.moved-aside")
    elif target.is_dir():
        target.rmdir()
    staging.rename(target)
    fsync_dir(target.parent)
    crash_point("export.renamed")


def recover_export(_context: WorkspaceContext, operation: journal.Operation) -> None:
    """Put the previous directory back if the new one never arrived; remove the rest."""
    paths: dict[str, Path] = {}
    for key in ("target", "staging", "old"):
        value = operation.intent.get(key)
        if not isinstance(value, str):
            return
        paths[key] = Path(value)
    target, staging, old = paths["target"], paths["staging"], paths["old"]
    for path in (staging, old):  # only ever names nodepipe made beside the target
        if not path.name.startswith(f".{target.name}.nodepipe-"):
            return
    if not target.exists() and old.is_dir():
        old.rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
