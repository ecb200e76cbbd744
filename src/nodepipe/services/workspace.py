"""``Workspace``: one object bundling every use case of one workspace (the Python API)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from nodepipe.services.context import WorkspaceContext, init_context, open_context

if TYPE_CHECKING:
    from collections.abc import Collection

    from nodepipe.domain.model import PipelineView
    from nodepipe.domain.specs import PipelineSpec
    from nodepipe.services.bundles.service import BundleService
    from nodepipe.services.envs.base_packages import PipelineEnvService
    from nodepipe.services.envs.conda import CondaService
    from nodepipe.services.envs.environments import EnvironmentService
    from nodepipe.services.envs.external_code import ExternalCodeService
    from nodepipe.services.envs.isolation import IsolationService
    from nodepipe.services.envs.run_envs import RunEnvironmentService
    from nodepipe.services.envs.shared_envs import SharedEnvService
    from nodepipe.services.files.code import CodeFileService
    from nodepipe.services.files.outputs import OutputService
    from nodepipe.services.graph.edges import EdgeService
    from nodepipe.services.graph.groups import GroupService
    from nodepipe.services.graph.node_copies import NodeCopyService
    from nodepipe.services.graph.nodes import NodeService
    from nodepipe.services.graph.pipeline_copies import PipelineCopyService
    from nodepipe.services.graph.pipelines import PipelineService
    from nodepipe.services.graph.projects import ProjectService
    from nodepipe.services.packages.service import PackageService
    from nodepipe.services.runs.history import RunHistoryService
    from nodepipe.services.runs.service import RunService
    from nodepipe.services.upkeep.backup import Backup
    from nodepipe.services.upkeep.servers import ServerService


class PipelineDefinitionLike(Protocol):
    @property
    def spec(self) -> PipelineSpec: ...


class Workspace:
    """A nodepipe workspace: ``ws.projects``, ``ws.pipelines``, ``ws.nodes``, ``ws.edges``...

    >>> ws = Workspace.init("./lab")                     # doctest: +SKIP
    >>> ws.pipelines.new("baseline")                     # doctest: +SKIP
    >>> ws.nodes.new("baseline", tag="load")             # doctest: +SKIP
    """

    def __init__(self, context: WorkspaceContext) -> None:
        self.context = context

    # Each use case is built on first use: a command imports only the services it calls.
    @functools.cached_property
    def projects(self) -> ProjectService:
        from nodepipe.services.graph.projects import ProjectService

        return ProjectService(self.context)

    @functools.cached_property
    def pipelines(self) -> PipelineService:
        from nodepipe.services.graph.pipelines import PipelineService

        return PipelineService(self.context)

    @functools.cached_property
    def pipeline_copies(self) -> PipelineCopyService:
        from nodepipe.services.graph.pipeline_copies import PipelineCopyService

        return PipelineCopyService(self.context)

    @functools.cached_property
    def nodes(self) -> NodeService:
        from nodepipe.services.graph.nodes import NodeService

        return NodeService(self.context)

    @functools.cached_property
    def node_copies(self) -> NodeCopyService:
        from nodepipe.services.graph.node_copies import NodeCopyService

        return NodeCopyService(self.context)

    @functools.cached_property
    def edges(self) -> EdgeService:
        from nodepipe.services.graph.edges import EdgeService

        return EdgeService(self.context)

    @functools.cached_property
    def groups(self) -> GroupService:
        from nodepipe.services.graph.groups import GroupService

        return GroupService(self.context)

    @functools.cached_property
    def outputs(self) -> OutputService:
        from nodepipe.services.files.outputs import OutputService

        return OutputService(self.context)

    @functools.cached_property
    def code_files(self) -> CodeFileService:
        from nodepipe.services.files.code import CodeFileService

        return CodeFileService(self.context)

    @functools.cached_property
    def runs(self) -> RunService:
        from nodepipe.services.runs.service import RunService

        return RunService(self.context)

    @functools.cached_property
    def run_history(self) -> RunHistoryService:
        from nodepipe.services.runs.history import RunHistoryService

        return RunHistoryService(self.context)

    @functools.cached_property
    def envs(self) -> EnvironmentService:
        from nodepipe.services.envs.environments import EnvironmentService

        return EnvironmentService(self.context)

    @functools.cached_property
    def external(self) -> ExternalCodeService:
        from nodepipe.services.envs.external_code import ExternalCodeService

        return ExternalCodeService(self.context)

    @functools.cached_property
    def run_envs(self) -> RunEnvironmentService:
        from nodepipe.services.envs.run_envs import RunEnvironmentService

        return RunEnvironmentService(self.context)

    @functools.cached_property
    def conda(self) -> CondaService:
        from nodepipe.services.envs.conda import CondaService

        return CondaService(self.context)

    @functools.cached_property
    def base_envs(self) -> PipelineEnvService:
        from nodepipe.services.envs.base_packages import PipelineEnvService

        return PipelineEnvService(self.context)

    @functools.cached_property
    def shared_envs(self) -> SharedEnvService:
        from nodepipe.services.envs.shared_envs import SharedEnvService

        return SharedEnvService(self.context)

    @functools.cached_property
    def isolation(self) -> IsolationService:
        from nodepipe.services.envs.isolation import IsolationService

        return IsolationService(self.context)

    @functools.cached_property
    def servers(self) -> ServerService:
        from nodepipe.services.upkeep.servers import ServerService

        return ServerService(self.context)

    @functools.cached_property
    def bundles(self) -> BundleService:
        from nodepipe.services.bundles.service import BundleService

        return BundleService(self.context)

    @functools.cached_property
    def packages(self) -> PackageService:
        from nodepipe.services.packages.service import PackageService

        return PackageService(self.context)

    @classmethod
    def open(cls, path: Path | str | None = None) -> Workspace:
        """The workspace at ``path``, $NODEPIPE_WORKSPACE, or the nearest one upwards.

        What a nodepipe process that died left (runs still ``running``, half-built folders,
        half-made environment edits) is settled first.
        """
        _check_text(path, "the workspace's folder", "./lab", paths=True)
        workspace = cls(open_context(path))
        workspace.runs.recover()
        return workspace

    @classmethod
    def init(
        cls, path: Path | str, store_url: str | None = None, python: str | None = None
    ) -> Workspace:
        """Create a workspace in a new or empty directory."""
        if path is None:
            from nodepipe.domain.errors import InvalidInputError

            raise InvalidInputError("init is given the new workspace's folder, like './lab'")
        _check_text(path, "the workspace's folder", "./lab", paths=True)
        _check_text(store_url, "store_url", "postgresql://host/db")
        _check_text(python, "python", "3.12")  # 3.10 as a number is 3.1
        return cls(init_context(path, store_url, python))

    def materialize(
        self, definition: PipelineDefinitionLike, adopt: Collection[str] = ()
    ) -> PipelineView:
        """Create (or update) the pipeline a code-first definition declares, node folders and
        locked environments included. It rewrites only nodes a materialize made: a node of
        the pipeline with a declared tag that none made is refused, unless ``adopt`` names its
        tag (its ``code/`` is then copied to its folder's ``undone-edits/`` and the definition
        takes it over)."""
        from nodepipe.domain.errors import InvalidInputError
        from nodepipe.domain.specs import PipelineSpec
        from nodepipe.services.graph.materialize import Materializer

        spec = (
            definition
            if isinstance(definition, PipelineSpec)
            else getattr(definition, "spec", None)
        )
        if not isinstance(spec, PipelineSpec):
            raise InvalidInputError(
                f"materialize takes what nodepipe.define() returns, not {definition!r}"
            )
        return Materializer(self.context).apply(spec, adopt)

    def backup(self, destination: Path | str | None = None) -> Backup:
        """Copy the workspace's store to ``destination`` (a new file, or a folder to put a
        timestamped copy in; default ``.nodepipe/backups/``), consistent while runs go on."""
        from nodepipe.services.upkeep.backup import back_up

        _check_text(destination, "the backup's destination", "backups/", paths=True)
        self.context.store.check_open()  # a copy reads the store as any call does
        return back_up(self.context, None if destination is None else Path(destination))

    def backups(self) -> list[Path]:
        """The backups in the workspace's ``.nodepipe/backups/``, oldest first."""
        from nodepipe.services.upkeep.backup import backups

        return backups(self.root)

    @property
    def root(self) -> Path:
        return self.context.layout.root

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    def close(self) -> None:
        self.context.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _check_text(value: object, what: str, example: str, paths: bool = False) -> None:
    """Refuse ``value`` unless it is None, text (or, with ``paths``, a path) as InvalidInputError
    naming ``what`` and an ``example``: Python's own TypeError said neither."""
    import os

    if value is None:
        return
    if isinstance(value, str) or (paths and isinstance(value, os.PathLike)):
        problem = _path_problem(os.fspath(value))
        if problem is None:
            return
        from nodepipe.domain.errors import InvalidInputError

        raise InvalidInputError(f"{what} {os.fspath(value)[:80]!r} {problem}")
    from nodepipe.domain.errors import InvalidInputError

    raise InvalidInputError(f"{what} is given as text, like {example!r}, not {value!r:.80}")


def _path_problem(text: str) -> str | None:
    """Why ``text`` names no file nodepipe can record (a NUL; a character UTF-8 cannot hold,
    as Python reads a byte of a name that is not UTF-8; a part longer than any file system
    takes), or None."""
    if "\x00" in text:
        return "holds a NUL character"
    try:
        parts = [part.encode("utf-8") for part in text.split("/")]
    except UnicodeEncodeError:
        return "holds a character UTF-8 cannot hold: nodepipe records paths as UTF-8"
    if any(len(part) > 255 for part in parts):
        return "has a part longer than 255 bytes, which no file system takes"
    return None
