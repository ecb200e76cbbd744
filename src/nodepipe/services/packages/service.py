"""``ws.packages``: build a pipeline as a wheel and an sdist, publish them, pull one back.

The one entry point the CLI, the web API and the Python API call for packages. A package is
a bundle inside a wheel: ``build`` exports the pipeline (``ws.bundles.export``, portable: local
includes inlined) into a scratch folder, lays a hatchling project around it and runs ``uv
build``; ``pull`` reads the bundle out of the archive (never building or running it) into a
scratch folder and imports it (``ws.bundles.import_``: new ids, each environment synced from
its own lock). Scratch folders are journal operations (``ARCHIVE_KIND``): a killed command
leaves nothing the next command does not remove; a refused one leaves nothing at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from nodepipe.bundles.errors import BundleError
from nodepipe.bundles.model import BUNDLE_FILE
from nodepipe.bundles.schema import parse_definition
from nodepipe.bundles.tree import local_files
from nodepipe.domain.errors import Action, Hint, NameTakenError, NotFoundError
from nodepipe.domain.model import PipelineView
from nodepipe.domain.names import listed
from nodepipe.domain.views import NodeDetails
from nodepipe.packaging.errors import PackageError
from nodepipe.packaging.library import NodeSources, node_requirements, write_library_project
from nodepipe.packaging.names import PackageNames, package_names, summary_of
from nodepipe.packaging.project import build_project, write_project
from nodepipe.packaging.publishing import PublishResult, publish, resolve_target
from nodepipe.packaging.selection import keep_nodes
from nodepipe.services import resolver
from nodepipe.services.bundles.archives import ARCHIVE_KIND
from nodepipe.services.bundles.creation import SyncProgress
from nodepipe.services.bundles.importing import ImportResult
from nodepipe.services.bundles.service import BundleService
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.effective import pipeline_view
from nodepipe.services.graph.nodes import NodeService
from nodepipe.services.graph.pipelines import PipelineService
from nodepipe.services.packages import manifests
from nodepipe.services.packages.destination import destination_folder, move_into
from nodepipe.services.packages.fetching import fetched_bundle
from nodepipe.services.packages.kept import keeping
from nodepipe.services.packages.uploads import MAX_UPLOAD_BYTES, StagedPackage, stage_upload
from nodepipe.services.runs.status import compute_statuses
from nodepipe.workspace import journal
from nodepipe.workspace.crash_points import crash_point

BUILT_SUFFIXES = (".whl", ".tar.gz")

__all__ = [
    "BuildResult",
    "PackageInputs",
    "PackageService",
    "PublishResult",
    "PullResult",
    "StagedPackage",
]


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What ``build`` wrote: the distribution's name and version, its wheel and sdist."""

    pipeline: str
    name: str
    version: str
    wheel: Path
    sdist: Path
    with_data: bool
    warnings: tuple[str, ...] = ()
    """What its export did that was not asked for (``ExportResult.warnings``)."""


@dataclass(frozen=True, slots=True)
class PullResult:
    """What ``pull`` made: the new pipeline (``imported``) and where it came from."""

    source: str
    imported: ImportResult


@dataclass(frozen=True, slots=True)
class PackageInputs:
    """What a package's bundle needs when it is included (``read_inputs``)."""

    release: str
    """``name==version`` of the package."""
    name: str
    """The name of the pipeline the bundle holds."""
    inputs: dict[str, tuple[str, ...]]
    """The bundle's ``[inputs]``: input name → the keys of its nodes that take it."""


def _refuse_links_outside(bundle: Path, pipeline: str) -> None:
    """PackageError naming a link of the exported ``bundle`` (a node's output, most often)
    that leads outside it: an export keeps links, and a package would carry a link no
    installer takes (uv refuses to build one to an absolute path, in words of tar)."""
    try:
        for _ in local_files(bundle, "."):
            pass
    except BundleError as exc:
        raise PackageError(
            f"cannot build pipeline {pipeline} as a package: {exc} (a package carries the "
            "pipeline's own files only: put the file itself there)"
        ) from None


@contextmanager
def _alias_named() -> Iterator[None]:
    """A pull whose tag (the bundle's name, or the alias given) another pipeline has: the
    refusal is about the ``alias`` (a surface says it beside that field) and names the way
    out, another tag (``Action.PACKAGE_ALIAS``)."""
    try:
        yield
    except NameTakenError as taken:  # the one name an import checks: the pipeline's tag
        raise NameTakenError(str(taken), "alias", hint=Hint(Action.PACKAGE_ALIAS)) from None


@dataclass(frozen=True, slots=True)
class PackageService:
    context: WorkspaceContext

    def build(
        self,
        pipeline: str,
        alias: str | None = None,
        version: str | None = None,
        destination: Path | str | None = None,
        with_data: bool = False,
        nodes: Sequence[str] = (),
    ) -> BuildResult:
        """Build ``pipeline`` (only ``nodes``, when given) as a wheel and an sdist into
        ``destination`` (default ./dist), named ``alias`` (default: its tag); files of the
        same names there are replaced."""
        nodes = listed(nodes, "the nodes to build")
        view = PipelineService(self.context).show(pipeline)
        named = Hint(Action.PACKAGE_NAME, {"pipeline": view.pipeline.tag})
        names = package_names(alias or view.pipeline.tag, version, named)
        target = destination_folder(destination)
        with journal.operation(self.context.layout.staging_dir, ARCHIVE_KIND) as operation:
            bundle = operation.folder / "bundle"
            exported = BundleService(self.context).export(
                pipeline, bundle, with_data, portable=True, links_of=nodes or None
            )
            if nodes:
                keep_nodes(bundle, nodes)
            _refuse_links_outside(bundle, view.pipeline.tag)
            crash_point("package.exported")
            project = write_project(
                operation.folder / "project", bundle, names, summary_of(view.pipeline.notes)
            )
            built = build_project(project, operation.folder / "dist", self.context.environments.uv)
            crash_point("package.built")
            wheel, sdist = move_into(built, target, self.context.layout.staging_dir)
        return BuildResult(
            view.pipeline.tag,
            names.dist,
            names.version,
            wheel,
            sdist,
            with_data,
            exported.warnings,
        )

    def build_library(
        self,
        node: str,
        alias: str | None = None,
        version: str | None = None,
        destination: Path | str | None = None,
        with_data: bool = False,
        pipeline: str | None = None,
    ) -> BuildResult:
        """Build ``node`` as an importable library wheel and sdist (see ``packaging.library``):
        its modules, its outputs as package data (``with_data``), its direct requirements as
        dependencies, its lock and fingerprint."""
        details, names = self._library(node, alias, version, pipeline)
        target = destination_folder(destination)
        node_requirements(details.folder / "code")  # a path or git requirement: refused first
        sources = NodeSources(
            details.folder / "code",
            details.folder / "data" if with_data else None,
            self._fingerprint(details.node.id, details.owner_pipeline),
        )
        if sources.data is not None and not (sources.data.is_dir() and any(sources.data.iterdir())):
            raise PackageError(f"node {details.node.tag} has no outputs yet: run it first")
        with journal.operation(self.context.layout.staging_dir, ARCHIVE_KIND) as operation:
            project = write_library_project(
                operation.folder / "project", sources, names, summary_of(details.node.notes)
            )
            built = build_project(project, operation.folder / "dist", self.context.environments.uv)
            wheel, sdist = move_into(built, target, self.context.layout.staging_dir)
        return BuildResult(details.node.tag, names.dist, names.version, wheel, sdist, with_data)

    def check_library(
        self,
        node: str,
        alias: str | None = None,
        version: str | None = None,
        pipeline: str | None = None,
    ) -> None:
        """Refuse at once what ``build_library`` refuses before it builds: a node ``pipeline``
        does not show, a name or a version that is not valid."""
        self._library(node, alias, version, pipeline)

    def _library(
        self, node: str, alias: str | None, version: str | None, pipeline: str | None
    ) -> tuple[NodeDetails, PackageNames]:
        details = NodeService(self.context).show(node, pipeline)
        named = Hint(Action.LIBRARY_NAME, {"node": details.node.id, "tag": details.node.tag})
        return details, package_names(alias or details.node.tag, version, named)

    def _fingerprint(self, node_id: str, pipeline: str) -> str:
        with self.context.store.read() as session:
            view = pipeline_view(session, resolver.pipeline(session, pipeline))
            status = compute_statuses(self.context, session, view)[node_id]
        if status.fingerprint is None:
            raise PackageError(f"cannot read the node: {status.problem}")
        return status.fingerprint.digest

    @property
    def dist_dir(self) -> Path:
        """Where the web app's builds go: ``dist/`` in the workspace."""
        return self.context.layout.root / "dist"

    def built_files(self) -> list[Path]:
        """The wheels and sdists in ``dist_dir``, by name."""
        if not self.dist_dir.is_dir():
            return []
        return sorted(p for p in self.dist_dir.iterdir() if p.name.endswith(BUILT_SUFFIXES))

    def built_file(self, name: str) -> Path:
        """The file ``name`` of ``built_files`` (NotFoundError naming the others otherwise)."""
        for path in self.built_files():
            if path.name == name:
                return path
        known = ", ".join(p.name for p in self.built_files()) or "none"
        raise NotFoundError(f"no built package {name!r} (there are: {known})")

    def build_all(self) -> list[BuildResult]:
        """Build every ``[package.NAME]`` table of the workspace's ``nodepipe.toml``."""
        return manifests.build_all(self)

    def pull_all(self, on_synced: SyncProgress | None = None) -> manifests.PullAllResult:
        """Pull every ``[pull."SOURCE"]`` table of the workspace's ``nodepipe.toml``."""
        return manifests.pull_all(self, on_synced)

    def publish(
        self,
        files: list[Path],
        repository_url: str | None = None,
        repository: str | None = None,
        check_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> PublishResult:
        """Upload ``files`` to the index (see ``packaging.publishing`` for the credentials;
        ``username`` and ``password``, given for this call only, come first)."""
        if not files:
            raise PackageError("give the wheel and sdist files to publish")
        environ = dict(os.environ)
        if password:
            environ.update(UV_PUBLISH_USERNAME=username or "", UV_PUBLISH_PASSWORD=password)
        target = resolve_target(repository_url, repository, environ)
        return publish(
            [Path(f).absolute() for f in files], target, self.context.environments.uv, check_url
        )

    def pull(
        self,
        source: str,
        alias: str | None = None,
        project: str | None = None,
        fs_args: Path | str | Mapping[str, Any] | None = None,
        index_url: str | None = None,
        jobs: int | None = None,
        on_synced: SyncProgress | None = None,
        local_files: bool = True,
    ) -> PullResult:
        """Import the package at ``source`` (a file, an fsspec URL, ``name[==version]`` on an
        index) as a new pipeline tagged ``alias`` (default: the bundle's name). ``fs_args``:
        the fsspec options, or a YAML file of them. Without ``local_files`` (a web request), a
        path or ``file://`` URL on this machine is refused."""
        fetching = fetched_bundle(self.context, source, fs_args, index_url, local_files)
        with fetching as fetched, _alias_named():
            imported = BundleService(self.context).import_(
                fetched.directory, project, alias, jobs, on_synced, confined=not local_files
            )
        return PullResult(source, imported)

    def read_inputs(
        self,
        source: str,
        fs_args: Path | str | Mapping[str, Any] | None = None,
        index_url: str | None = None,
        local_files: bool = True,
    ) -> PackageInputs:
        """The inputs the package at ``source`` (as for ``pull``) declares, to feed them when
        it is included (``pull_into``): fetched into a scratch folder, read, removed; nothing
        of it is built or run, nothing is kept."""
        with fetched_bundle(self.context, source, fs_args, index_url, local_files) as fetched:
            bundle_file = fetched.directory / BUNDLE_FILE
            definition = parse_definition(bundle_file.read_text(encoding="utf-8"), source)
        return PackageInputs(fetched.release, definition.name, dict(definition.inputs))

    def pull_upload(
        self,
        upload: BinaryIO,
        filename: str,
        limit: int = MAX_UPLOAD_BYTES,
    ) -> StagedPackage:
        """Stage a package file sent by a browser (``packages.uploads``): refused at once, with
        nothing left, unless it is a nodepipe package of at most ``limit`` bytes. Pull it with
        ``pull_staged``."""
        return stage_upload(self.context, upload, filename, limit)

    def pull_staged(
        self,
        staged: StagedPackage,
        alias: str | None = None,
        project: str | None = None,
        jobs: int | None = None,
        on_synced: SyncProgress | None = None,
    ) -> PullResult:
        """Import the bundle of ``staged`` as a new pipeline (as ``pull``), then discard it,
        whatever the outcome."""
        try:
            with _alias_named():
                imported = BundleService(self.context).import_(
                    staged.bundle, project, alias, jobs, on_synced, confined=True
                )
        finally:
            staged.discard()
        return PullResult(staged.file.name, imported)

    def pull_into(
        self,
        source: str,
        pipeline: str,
        namespace: str,
        inputs: Mapping[str, str] | None = None,
        fs_args: Path | str | Mapping[str, Any] | None = None,
        index_url: str | None = None,
        jobs: int | None = None,
        on_synced: SyncProgress | None = None,
        local_files: bool = True,
    ) -> PipelineView:
        """Include the package at ``source`` in ``pipeline``: its nodes as ``namespace.key``,
        its inputs fed by the nodes ``inputs`` names. The bundle is kept under
        ``.nodepipe/packages/NAME-VERSION`` (an include is read again from where it was
        found). ``local_files`` as for ``pull``."""
        bundles = BundleService(self.context)
        bundles.check_include(pipeline, namespace, inputs or {})  # before any download
        with (
            fetched_bundle(self.context, source, fs_args, index_url, local_files) as fetched,
            keeping(self.context, fetched) as kept,
        ):
            return bundles.include(pipeline, str(kept), namespace, inputs, jobs, on_synced)
