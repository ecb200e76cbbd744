"""Reading bundles for the services: resolved with their includes, checked, hashed.

Every relative path is resolved by ``nodepipe.bundles`` against the including file; the
caller's current directory is passed in explicitly (never read deep inside), so a bundle
imported from any directory resolves the same way.

``read_for_import`` is the one reading of ``bundle import`` and ``bundle check``: the lock, the
definition with its includes, and everything the import refuses in the nodes before it writes
(``import_checks``), every problem kept, so a check lists all an import would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nodepipe.bundles.content import content_hash
from nodepipe.bundles.errors import BundleError, refuse_all
from nodepipe.bundles.files import MAX_READ_BYTES
from nodepipe.bundles.loaders import DEFAULT_LOADERS
from nodepipe.bundles.lockfile import LockRecord, parse_lock
from nodepipe.bundles.lookup import locate_root
from nodepipe.bundles.model import LOCK_FILE, BundleFiles, ResolvedPipeline
from nodepipe.bundles.resolve import gather_bundle, resolve_bundle
from nodepipe.domain.errors import InvalidInputError, NodepipeError
from nodepipe.services.bundles.import_checks import import_problems
from nodepipe.services.bundles.node_files import missing_parts


@dataclass(frozen=True, slots=True)
class ReadBundle:
    """A bundle resolved, with its root's files and content hash."""

    resolved: ResolvedPipeline
    files: BundleFiles
    content_hash: str


def read_bundle(source: str | Path, cwd: Path) -> ReadBundle:
    """The bundle ``source`` names (a folder, a relative source, ``pkg:``, a URL), resolved."""
    resolved = resolve_bundle(source, cwd=cwd)
    files = locate_root(source, cwd=cwd, loaders=DEFAULT_LOADERS, storage_options={})
    definition, digest = DEFAULT_LOADERS.of(files.location).definitions.definition(files)
    nested = [(i.namespace, i.content_hash) for i in resolved.includes if "." not in i.namespace]
    return ReadBundle(resolved, files, content_hash(files, definition, digest, nested))


def problems_of(resolved: ResolvedPipeline) -> list[str]:
    """What keeps the nodes of a resolved bundle from being imported (missing code, locks)."""
    return [problem for node in resolved.nodes for problem in missing_parts(node)]


def checked_bundle(source: str | Path, cwd: Path) -> ReadBundle:
    """``read_bundle``, refused with every problem named when a node cannot be imported."""
    bundle = read_bundle(source, cwd)
    refuse_all([BundleError(problem) for problem in problems_of(bundle.resolved)])
    return bundle


@dataclass(frozen=True, slots=True)
class ImportReading:
    """A bundle as an import reads it: resolved (None when it cannot be), its lock records,
    and every problem that makes the import refuse it (none: the import takes it)."""

    resolved: ResolvedPipeline | None
    locked: dict[str, LockRecord]
    errors: tuple[NodepipeError, ...]


def read_for_import(source: Path, cwd: Path, confined: bool = False) -> ImportReading:
    """The bundle in the folder ``source`` read as ``bundle import`` reads it, before anything
    is written: its definition and includes (``gather_bundle``), its ``pipeline.lock``, and
    what an import with data refuses in its nodes; each problem kept, none raised.
    ``confined``: a bundle received from someone else, whose includes are looked for inside
    its folder alone (``bundles.lookup``)."""
    errors: list[NodepipeError] = []
    locked: dict[str, LockRecord] = {}
    resolved: ResolvedPipeline | None = None
    try:
        resolved, found = gather_bundle(source, cwd=cwd, confined=source if confined else None)
        errors += found
    except NodepipeError as error:
        errors.append(error)
    files = resolved.files if resolved is not None else _root(source, cwd)
    if files is not None:
        try:
            locked = locked_records(files)
        except NodepipeError as error:
            errors.append(error)
    if resolved is not None:
        problems = import_problems(resolved, with_data=True, root=resolved.files)
        errors += [BundleError(problem) for problem in problems]
    return ImportReading(resolved, locked, tuple(errors))


def _root(source: Path, cwd: Path) -> BundleFiles | None:
    """The files of the bundle ``source``, None when there is none (``gather_bundle`` says
    so)."""
    try:
        return locate_root(source, cwd=cwd, loaders=DEFAULT_LOADERS, storage_options={})
    except NodepipeError:
        return None


def importable_bundle(
    source: Path, cwd: Path, confined: bool = False
) -> tuple[ResolvedPipeline, dict[str, LockRecord]]:
    """``read_for_import``, refused with every problem found, all together."""
    reading = read_for_import(source, cwd, confined)
    refuse_all(reading.errors)
    assert reading.resolved is not None  # no problem: it was read
    return reading.resolved, reading.locked


def locked_records(files: BundleFiles) -> dict[str, LockRecord]:
    """The root bundle's ``pipeline.lock`` (none: nothing is vouched for)."""
    if not files.exists(LOCK_FILE):
        return {}
    origin = f"{str(files.location).rstrip('/')}/{LOCK_FILE}"
    try:
        text = files.read_bytes(LOCK_FILE, MAX_READ_BYTES).decode("utf-8")
    except (UnicodeDecodeError, BundleError) as exc:
        raise InvalidInputError(f"{origin}: cannot be read: {exc}") from None
    return parse_lock(text, origin)
