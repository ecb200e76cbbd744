"""nodepipe: a pipeline orchestrator where every node is a folder with its own environment.

The Python API::

    import nodepipe
    ws = nodepipe.init("./lab")          # or nodepipe.open() from inside a workspace
    ws.pipelines.new("baseline")
    ws.nodes.new("baseline", tag="load")
"""

from __future__ import annotations

from time import time_ns as _time_ns

TYPE_CHECKING = False  # not typing's: the ``nodepipe`` program imports this package first
LOADED_NS = _time_ns()
"""When nodepipe's code was loaded in this process (inherited by forked workers): a file of
it changed after this is not the code running (``workspace.code_identity``)."""

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from nodepipe.domain.errors import (
        Action,
        AmbiguousNameError,
        ChangedOnDiskError,
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
        RefusedPackageError,
        RequirementNotFoundError,
        StorageError,
        UnresolvableRequirementsError,
        WorkspaceError,
    )
    from nodepipe.domain.model import Edge, Group, Node, Pipeline, PipelineView, Project
    from nodepipe.domain.specs import NodeSpec, PipelineSpec
    from nodepipe.domain.states import NodeState
    from nodepipe.services.graph.definition import PipelineDefinition, define
    from nodepipe.services.runs.service import RunRequest
    from nodepipe.services.workspace import Workspace

__version__: str
"""The installed nodepipe's version, as `nodepipe version` prints it (read on first use)."""

__all__ = [
    "Action",
    "AmbiguousNameError",
    "ChangedOnDiskError",
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
    "RefusedPackageError",
    "RequirementNotFoundError",
    "RunRequest",
    "StorageError",
    "UnresolvableRequirementsError",
    "Workspace",
    "WorkspaceError",
    "define",
    "init",
    "open",
]


# Where each name lives: imported on first use, so that ``import nodepipe`` (and every CLI
# command, which imports this package first) pays nothing for the names it does not use.
_ERRORS = "nodepipe.domain.errors"
_MODEL = "nodepipe.domain.model"
_LOCATIONS = {
    **dict.fromkeys(
        (
            "Action",
            "AmbiguousNameError",
            "ChangedOnDiskError",
            "ConflictError",
            "CycleError",
            "EnvironmentBuildError",
            "Hint",
            "IndexUnreachableError",
            "InvalidInputError",
            "NodeLaunchError",
            "NodepipeError",
            "NotFoundError",
            "ReadOnlyError",
            "RefusedPackageError",
            "RequirementNotFoundError",
            "StorageError",
            "UnresolvableRequirementsError",
            "WorkspaceError",
        ),
        _ERRORS,
    ),
    **dict.fromkeys(("Edge", "Group", "Node", "Pipeline", "PipelineView", "Project"), _MODEL),
    "NodeSpec": "nodepipe.domain.specs",
    "PipelineSpec": "nodepipe.domain.specs",
    "NodeState": "nodepipe.domain.states",
    "PipelineDefinition": "nodepipe.services.graph.definition",
    "define": "nodepipe.services.graph.definition",
    "RunRequest": "nodepipe.services.runs.service",
    "Workspace": "nodepipe.services.workspace",
}


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (then kept in this module)."""
    if name == "__version__":  # read from the installed metadata, as `nodepipe version` does
        from nodepipe.services.version import installed_version

        globals()[name] = found = installed_version()
        return found
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'nodepipe' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, "__version__"})


def init(path: Path | str, store_url: str | None = None, python: str | None = None) -> Workspace:
    """Create a workspace at ``path`` and open it."""
    from nodepipe.services.workspace import Workspace

    _word_hints()

    return Workspace.init(path, store_url, python)


def open(path: Path | str | None = None) -> Workspace:
    """Open the workspace at ``path`` (default: found from the current directory upwards)."""
    from nodepipe.services.workspace import Workspace

    _word_hints()

    return Workspace.open(path)


def _word_hints() -> None:
    """Errors a Python user meets say what to do as a ``ws.…`` call, in a note under the
    traceback (``nodepipe.services.hints``)."""
    from nodepipe.domain.errors import word_hints_with
    from nodepipe.services.hints import words_for

    word_hints_with(words_for)
