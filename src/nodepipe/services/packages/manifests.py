"""``package build --all`` and ``package pull --all``: the tables of ``nodepipe.toml``.

Builds go to each table's destination (default: the workspace's ``dist/``). A pull whose alias
names a pipeline that already exists is skipped, so ``pull --all`` may be run again after a
table was added; the first error stops, after what was done before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nodepipe.domain.errors import NameTakenError
from nodepipe.packaging.errors import PackageError
from nodepipe.packaging.manifest import read_manifest
from nodepipe.services.bundles.creation import SyncProgress
from nodepipe.services.graph.pipelines import PipelineService

if TYPE_CHECKING:  # the service calls these functions
    from nodepipe.services.packages.service import BuildResult, PackageService, PullResult


@dataclass(frozen=True, slots=True)
class PullAllResult:
    """The packages pulled, and the sources skipped (their alias already a pipeline)."""

    pulled: tuple[PullResult, ...]
    skipped: tuple[str, ...]


def build_all(service: PackageService) -> list[BuildResult]:
    """Build every ``[package.NAME]`` of the workspace's ``nodepipe.toml``."""
    layout = service.context.layout
    builds, _ = read_manifest(layout.config_file)
    if not builds:
        raise PackageError("nodepipe.toml has no [package.NAME] tables: add one per package")
    default = layout.root / "dist"
    results = []
    for entry in builds:
        destination = entry.destination or default
        arguments = (entry.name, entry.alias, entry.version, destination, entry.with_data)
        if entry.library:
            results.append(service.build_library(*arguments))
        else:
            results.append(service.build(*arguments, nodes=entry.nodes))
    return results


def pull_all(service: PackageService, on_synced: SyncProgress | None = None) -> PullAllResult:
    """Pull every ``[pull."SOURCE"]`` of the workspace's ``nodepipe.toml``."""
    _, pulls = read_manifest(service.context.layout.config_file)
    if not pulls:
        raise PackageError('nodepipe.toml has no [pull."SOURCE"] tables: add one per package')
    existing = {p.tag for p in PipelineService(service.context).list()}
    pulled: list[PullResult] = []
    skipped: list[str] = []
    for entry in pulls:
        if entry.alias is not None and entry.alias in existing:
            skipped.append(entry.source)
            continue
        try:
            pulled.append(
                service.pull(
                    entry.source,
                    entry.alias,
                    entry.project,
                    entry.fs_args,
                    entry.index_url,
                    on_synced=on_synced,
                )
            )
        except NameTakenError as taken:  # its hint names an option of a single pull
            raise NameTakenError(
                f'{taken}: give [pull."{entry.source}"] of nodepipe.toml another alias = "NEW_TAG"',
                taken.field,
            ) from None
    return PullAllResult(tuple(pulled), tuple(skipped))
