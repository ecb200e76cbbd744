"""nodepipe: a pipeline orchestrator where every node is a folder with its own environment.

The Python API::

    import nodepipe
    ws = nodepipe.init("./lab")          # or nodepipe.open() from inside a workspace
    ws.pipelines.new("baseline")
    ws.nodes.new("baseline", tag="load")
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodepipe.domain.errors import (
    Action,
    AmbiguousNameError,
    ConflictError,
    CycleError,
    EnvironmentBuildError,
    Hint,
    IndexUnreachableError,
    InvalidInputError,
    NodeLaunchError,
    NodepipeError,
    NotFoundError,
    ReadOnlyError,
    RequirementNotFoundError,
    UnresolvableRequirementsError,
    WorkspaceError,
)
from nodepipe.domain.model import Edge, Group, Node, Pipeline, PipelineView, Project
from nodepipe.domain.specs import NodeSpec, PipelineSpec
from nodepipe.domain.states import NodeState
from nodepipe.services.graph.definition import PipelineDefinition, define

if TYPE_CHECKING:
    from nodepipe.services.workspace import Workspace

__all__ = [
    "Action",
    "AmbiguousNameError",
    "ConflictError",
    "CycleError",
    "Edge",
    "EnvironmentBuildError",
    "Group",
    "Hint",
    "IndexUnreachableError",
    "InvalidInputError",
    "Node",
    "NodeLaunchError",
    "NodeSpec",
    "NodeState",
    "NodepipeError",
    "NotFoundError",
    "Pipeline",
    "PipelineDefinition",
    "PipelineSpec",
    "PipelineView",
    "Project",
    "ReadOnlyError",
    "RequirementNotFoundError",
    "UnresolvableRequirementsError",
    "Workspace",
    "WorkspaceError",
    "define",
    "init",
    "open",
]


def __getattr__(name: str) -> Any:
    """``nodepipe.Workspace`` is imported on first use: the store's libraries are heavy."""
    if name == "Workspace":
        from nodepipe.services.workspace import Workspace

        return Workspace
    raise AttributeError(f"module 'nodepipe' has no attribute {name!r}")


def init(path: Path | str, store_url: str | None = None, python: str | None = None) -> Workspace:
    """Create a workspace at ``path`` and open it."""
    from nodepipe.services.workspace import Workspace

    return Workspace.init(path, store_url, python)


def open(path: Path | str | None = None) -> Workspace:
    """Open the workspace at ``path`` (default: found from the current directory upwards)."""
    from nodepipe.services.workspace import Workspace

    return Workspace.open(path)
