"""``Workspace``: one object bundling every use case of one workspace (the Python API)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from nodepipe.domain.model import PipelineView
from nodepipe.domain.specs import PipelineSpec
from nodepipe.services.bundles.service import BundleService
from nodepipe.services.context import WorkspaceContext, init_context, open_context
from nodepipe.services.envs.base_packages import PipelineEnvService
from nodepipe.services.envs.environments import EnvironmentService
from nodepipe.services.envs.external_code import ExternalCodeService
from nodepipe.services.envs.run_envs import RunEnvironmentService
from nodepipe.services.envs.shared_envs import SharedEnvService
from nodepipe.services.graph.edges import EdgeService
from nodepipe.services.graph.groups import GroupService
from nodepipe.services.graph.materialize import Materializer
from nodepipe.services.graph.node_copies import NodeCopyService
from nodepipe.services.graph.nodes import NodeService
from nodepipe.services.graph.pipeline_copies import PipelineCopyService
from nodepipe.services.graph.pipelines import PipelineService
from nodepipe.services.graph.projects import ProjectService
from nodepipe.services.packages.service import PackageService
from nodepipe.services.runs.service import RunService
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
        self.projects = ProjectService(context)
        self.pipelines = PipelineService(context)
        self.pipeline_copies = PipelineCopyService(context)
        self.nodes = NodeService(context)
        self.node_copies = NodeCopyService(context)
        self.edges = EdgeService(context)
        self.groups = GroupService(context)
        self.runs = RunService(context)
        self.envs = EnvironmentService(context)
        self.external = ExternalCodeService(context)
        self.run_envs = RunEnvironmentService(context)
        self.base_envs = PipelineEnvService(context)
        self.shared_envs = SharedEnvService(context)
        self.servers = ServerService(context)
        self.bundles = BundleService(context)
        self.packages = PackageService(context)

    @classmethod
    def open(cls, path: Path | str | None = None) -> Workspace:
        """The workspace at ``path``, $NODEPIPE_WORKSPACE, or the nearest one upwards.

        What a nodepipe process that died left (runs still ``running``, half-built folders,
        half-made environment edits) is settled first.
        """
        workspace = cls(open_context(path))
        workspace.runs.recover()
        return workspace

    @classmethod
    def init(
        cls, path: Path | str, store_url: str | None = None, python: str | None = None
    ) -> Workspace:
        """Create a workspace in a new or empty directory."""
        return cls(init_context(path, store_url, python))

    def materialize(self, definition: PipelineDefinitionLike) -> PipelineView:
        """Create (or update) the pipeline a code-first definition declares, node folders and
        locked environments included."""
        spec = definition if isinstance(definition, PipelineSpec) else definition.spec
        return Materializer(
            self.pipelines, self.nodes, self.edges, self.envs, self.base_envs
        ).apply(spec)

    @property
    def root(self) -> Path:
        return self.context.layout.root

    def close(self) -> None:
        self.context.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
