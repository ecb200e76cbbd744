"""Writing an export directory all at once: built beside it, then renamed into place.

Everything is written into a hidden folder beside ``DIR`` (same filesystem), flushed, and
renamed to ``DIR``. Replacing an existing ``DIR`` (``--force``) moves it aside first and
removes it once the new one is in place; only a previous export is replaced (``is_export``: a
``pipeline.lock`` nodepipe wrote, beside nothing an export does not write), never a folder
holding anything else. The steps are a workspace journal operation: if the
process dies, the next command puts the previous ``DIR`` back when the new one never arrived,
and removes what was left beside it. Killed at any step, ``DIR`` is never half-written.

The inputs the pipeline declares once the export is written (``RememberedInputs``) are saved
in the same operation, once ``DIR`` is in place, and are part of its recorded intent (with the
digest of the ``pipeline.toml`` that writes them): a recovery that finds that file in ``DIR``
saves them, so after a kill at any step the pipeline declares the inputs of the ``DIR`` it
left.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodepipe.bundles.lockfile import HEADER as LOCK_HEADER
from nodepipe.bundles.model import BUNDLE_FILE, LOCK_FILE
from nodepipe.domain.errors import ConflictError, InvalidInputError
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace import journal
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import fsync_dir, sync_filesystem
from nodepipe.workspace.file_digests import sha256_file
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


@dataclass(frozen=True, slots=True)
class RememberedInputs:
    """The inputs a pipeline declares once its export is in place."""

    pipeline_id: str
    inputs: Mapping[str, tuple[str, ...]]
    """Input name → the ids of the nodes taking it (empty: none)."""
    definition: str
    """The text of the export's ``pipeline.toml`` (how a recovery knows the export is in place)."""

    def intent(self) -> dict[str, Any]:
        digest = hashlib.sha256(self.definition.encode("utf-8")).hexdigest()
        inputs = {name: list(ids) for name, ids in sorted(self.inputs.items())}
        return {"pipeline": self.pipeline_id, "inputs": inputs, "definition": digest}


@contextmanager
def writing_directory(
    context: WorkspaceContext, target: Path, remembered: RememberedInputs | None = None
) -> Iterator[Path]:
    """Yield an empty folder to write the export in; on success it becomes ``target``, and
    the pipeline declares the ``remembered`` inputs (if any)."""
    target = target.absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    staging = target.with_name(f".{target.name}.nodepipe-export-{token}")
    old = target.with_name(f".{target.name}.nodepipe-old-{token}")
    intent: dict[str, Any] = {"target": str(target), "staging": str(staging), "old": str(old)}
    if remembered is not None:
        intent["remember"] = remembered.intent()
    with journal.operation(context.layout.staging_dir, EXPORT_KIND, **intent):
        try:
            staging.mkdir()
            yield staging
            sync_filesystem(staging)
            crash_point("export.written")
            _swap_in(staging, target, old)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if remembered is not None:
            _remember(context, remembered.pipeline_id, remembered.inputs)
            crash_point("export.inputs-saved")
        shutil.rmtree(old, ignore_errors=True)


def _remember(
    context: WorkspaceContext, pipeline_id: str, inputs: Mapping[str, tuple[str, ...]]
) -> None:
    """The pipeline declares ``inputs`` (a node it no longer shows is left out)."""
    with context.store.write() as session:
        session.hand_over_inputs(pipeline_id, inputs, {})


def _swap_in(staging: Path, target: Path, old: Path) -> None:
    if target.is_dir() and any(target.iterdir()):
        target.rename(old)
        crash_point("export.moved-aside")
    elif target.is_dir():
        target.rmdir()
    staging.rename(target)
    fsync_dir(target.parent)
    crash_point("export.renamed")


def recover_export(context: WorkspaceContext, operation: journal.Operation) -> None:
    """Put the previous directory back if the new one never arrived; remove the rest. When
    the directory in place has the ``pipeline.toml`` the export wrote, the pipeline declares
    the inputs it recorded (``RememberedInputs``)."""
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
    _recover_inputs(context, operation.intent.get("remember"), target)
    shutil.rmtree(old, ignore_errors=True)


def _recover_inputs(context: WorkspaceContext, recorded: object, target: Path) -> None:
    """Save the inputs ``recorded`` (``RememberedInputs.intent``) if ``target`` holds the
    ``pipeline.toml`` that declares them."""
    if not isinstance(recorded, dict):
        return
    pipeline, inputs, digest = (recorded.get(k) for k in ("pipeline", "inputs", "definition"))
    if not (isinstance(pipeline, str) and isinstance(inputs, dict) and isinstance(digest, str)):
        return
    written = target / BUNDLE_FILE
    if written.is_symlink() or not written.is_file() or sha256_file(written) != digest:
        return
    ids = {
        str(name): tuple(str(i) for i in node_ids)
        for name, node_ids in inputs.items()
        if isinstance(node_ids, list)
    }
    _remember(context, pipeline, ids)
