"""The JSON of what both interfaces show: the API answers with these schemas and the CLI's
``--json`` prints them, so that one object gives one JSON document wherever it is asked for.

Each schema reads a domain or service value by its attributes (``Schema.model_validate(value)``);
where the public name differs from the domain's, the field says where it reads from (an alias
or an alias path). Request bodies and what only the web app shows (jobs, log tails, canvas
previews) stay in ``nodepipe.api.schemas``.

Importing this package costs nothing; its modules import pydantic (a fifth of a second), which
the CLI pays only for ``--json``: it names schemas (:data:`SchemaName`) and gets them with
:func:`shared_schemas` when it prints one.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from nodepipe.schemas.base import Schema

SchemaName = Literal[
    "AddedNodePublic",
    "BaseNotGivenPublic",
    "BasePackagesPublic",
    "CanvasNode",
    "CondaEnvironmentPublic",
    "CondaPackagePublic",
    "EdgePublic",
    "ErrorPublic",
    "EnvironmentPublic",
    "GroupChangePublic",
    "GroupPublic",
    "HintPublic",
    "IncludePublic",
    "IncludeUpdatePublic",
    "KeptCodePublic",
    "LineagePublic",
    "LinkPublic",
    "NodeDetail",
    "NodePublic",
    "NodeRunPublic",
    "NodeStatusPublic",
    "ParamsPublic",
    "PastEnvironmentPublic",
    "PipelineGraph",
    "PipelinePublic",
    "PipelineStatusPublic",
    "PlanPublic",
    "PlannedNodePublic",
    "ProjectDetail",
    "ProjectPublic",
    "RemovalPublic",
    "ReplacementPublic",
    "RunHistoryPublic",
    "RunPublic",
    "RunSummaryPublic",
    "SharedEnvPublic",
    "SkippedNodePublic",
    "StoredLockPublic",
    "UngroupedNodePublic",
    "UngroupedPublic",
]
"""The name of every schema of this package (a test checks that it lists them all)."""


@functools.cache
def shared_schemas() -> dict[str, type[Schema]]:
    """Every schema defined in this package's modules, by name (imports them all)."""
    from nodepipe.schemas.base import Schema

    found: dict[str, type[Schema]] = {}
    for module_info in pkgutil.iter_modules(__path__, f"{__name__}."):
        module = importlib.import_module(module_info.name)
        found |= {
            name: value
            for name, value in vars(module).items()
            if isinstance(value, type)
            and issubclass(value, Schema)
            and value is not Schema
            and value.__module__ == module.__name__
        }
    return found
