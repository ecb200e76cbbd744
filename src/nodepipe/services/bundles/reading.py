"""Reading bundles for the services: resolved with their includes, checked, hashed.

Every relative path is resolved by ``nodepipe.bundles`` against the including file; the
caller's current directory is passed in explicitly (never read deep inside), so a bundle
imported from any directory resolves the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nodepipe.bundles.content import content_hash
from nodepipe.bundles.errors import BundleError
from nodepipe.bundles.loaders import DEFAULT_LOADERS
from nodepipe.bundles.lockfile import LockRecord, parse_lock
from nodepipe.bundles.lookup import locate_root
from nodepipe.bundles.model import LOCK_FILE, BundleFiles, ResolvedPipeline
from nodepipe.bundles.resolve import resolve_bundle
from nodepipe.domain.errors import InvalidInputError
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
    problems = problems_of(bundle.resolved)
    if problems:
        raise InvalidInputError("; ".join(problems))
    return bundle


def locked_records(files: BundleFiles) -> dict[str, LockRecord]:
    """The root bundle's ``pipeline.lock`` (none: nothing is vouched for)."""
    if not files.exists(LOCK_FILE):
        return {}
    origin = f"{str(files.location).rstrip('/')}/{LOCK_FILE}"
    try:
        text = files.read_bytes(LOCK_FILE).decode("utf-8")
    except (UnicodeDecodeError, BundleError) as exc:
        raise InvalidInputError(f"{origin}: cannot be read: {exc}") from None
    return parse_lock(text, origin)
